"""Command-line tools: the demo job, benchmarks, and (later) ingestion and evaluations."""
