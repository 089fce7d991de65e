"""Handlers of the retrieval service: one module per consumed topic, thin."""
