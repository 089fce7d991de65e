"""Handlers of the digest service: one module per consumed topic, thin."""
