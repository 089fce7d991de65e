"""Handlers of the trend service: one module per consumed topic, thin."""
