"""Adapters of the memory service: the ports implemented on Postgres (asyncpg)."""
