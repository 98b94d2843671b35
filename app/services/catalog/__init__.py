"""The catalog: its in-memory model and its storage."""
