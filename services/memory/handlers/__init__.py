"""Handlers of the memory service: one module per consumed topic, thin."""
