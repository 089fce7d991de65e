"""Handlers of the dlq service: one module per consumed topic, thin."""
