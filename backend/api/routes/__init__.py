"""Thin route modules: parse, call the store, shape the answer."""
