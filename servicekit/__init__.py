"""Shared runtime for every service: settings, logging, Kafka, HTTP, metrics, lifecycle, RPC.

Kept small on purpose: anything domain-specific lives in the services.
"""
