"""Pure logic of the trend service: clustering, counters, the burst test, trend cards."""
