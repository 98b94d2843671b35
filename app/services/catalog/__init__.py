"""The catalog: its in-memory model, the schemas that load it from seed/, its storage and cache,
and the checks of request keys against it."""
