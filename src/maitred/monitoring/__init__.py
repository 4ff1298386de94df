"""Traces of every call in and out, metrics and health."""
