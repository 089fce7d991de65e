"""Pure logic of the dlq service: the retry schedule, the state machine, routing, rendering."""
