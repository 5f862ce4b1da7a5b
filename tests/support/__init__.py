"""Helpers the tests share that are not fixtures: Socket Mode, the lifecycle steps, the stack builders."""
