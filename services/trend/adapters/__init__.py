"""Adapters of the trend service (Postgres)."""
