"""Tests of the Together simulator (both APIs, faults, the server and transport)."""
