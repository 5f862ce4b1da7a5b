"""Bolt listeners: read the request, call the domain, render the answer. No rules here."""
