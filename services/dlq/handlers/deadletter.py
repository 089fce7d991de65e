"""Handler of ``deadletter.v1``."""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.v1.deadletter import DeadLetter
from servicekit.consumer import Handler, MessageContext
from servicekit.lifecycle import LifecyclePublisher


def make_handler(lifecycle: LifecyclePublisher) -> Handler:
    """Validate (done by the runtime) and log; storing arrives with the service's own issue."""

    async def handle(envelope: Envelope[DeadLetter], ctx: MessageContext) -> None:
        ctx.log.info("event_received", event_type=envelope.event_type)

    return handle
