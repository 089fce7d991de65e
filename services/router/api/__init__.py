"""The REST gateway: request/response models, security, limits and routes."""
