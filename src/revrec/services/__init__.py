"""Use cases: each takes its inputs, calls the engine, and returns results for a shell to render."""
