"""Adapters of the router's ports: Postgres stores, Kafka request/reply, HTTP clients."""
