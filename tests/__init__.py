"""artsearch test suite."""
