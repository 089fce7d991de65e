"""Pure logic of the digest service: no I/O, deterministic for the same input."""
