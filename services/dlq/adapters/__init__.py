"""Adapters of the dlq service: Postgres (asyncpg), the Kafka publisher, lifecycle events."""
