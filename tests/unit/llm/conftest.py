"""Fixtures of the LLM layer's tests: the local fake chat API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.llm.fake_api import FakeServer, serve


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A fresh fake of the OpenAI-compatible and GigaChat APIs on 127.0.0.1."""
    fake, httpd = serve()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
