"""Independent holdout export writer (see README.md)."""
