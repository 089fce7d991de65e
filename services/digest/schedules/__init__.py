"""Digest schedules: a digest per user (and persona) on a cadence, requested by the service
itself (``loop``), managed over REST (``api``) and from the command line (``cli``)."""
