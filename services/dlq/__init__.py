"""dlq service: Dead letters: storage, retries with backoff, parking and replay."""
