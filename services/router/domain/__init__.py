"""Pure logic of the router's gateway and fast path: no I/O."""
