"""What an embedding provider's failure means for the message being indexed."""

from __future__ import annotations

from servicekit.errors import InvalidMessage, RetryableError


class EmbeddingUnavailable(RetryableError):
    """The provider did not answer usefully (timeouts, 429, 5xx, refused credentials, a
    response of the wrong shape) after the bounded retries; the same texts may succeed later."""


class EmbeddingRejected(InvalidMessage):
    """The provider refused the input itself (400, 413, 422): retrying cannot help."""
