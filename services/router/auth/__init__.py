"""Credentials (API keys, JWTs) and per-credential rate limits."""
