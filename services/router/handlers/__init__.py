"""Handlers of the router service: one module per consumed topic, thin."""
