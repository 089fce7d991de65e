"""digest service: Channel and group digests on the smart path."""
