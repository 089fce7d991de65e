"""Adapters of the digest service (Postgres)."""
