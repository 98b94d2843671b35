"""Cross-cutting HTTP mechanisms, built once and used by every endpoint."""
