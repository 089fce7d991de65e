"""router service: The front door: REST gateway, context router and the fast path."""
