"""The six services; each folder is one deployable service."""
