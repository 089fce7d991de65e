"""Handler of ``posts.deleted.v1``."""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.v1.posts import PostsDeleted
from servicekit.consumer import Handler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.receipt import record_receipt


def make_handler(lifecycle: LifecyclePublisher) -> Handler:
    """Validate (done by the runtime), log, and record the receipt in episodic memory."""

    async def handle(envelope: Envelope[PostsDeleted], ctx: MessageContext) -> None:
        await record_receipt(lifecycle, envelope, ctx, domain="ingestion")

    return handle
