"""A probe consumer run as its own process, so a test can SIGKILL it mid-message.

``python -m tests.helpers.probe_process BOOTSTRAP PREFIX MARKER_FILE hang|fast``: ``hang``
writes ``start <event_id>`` and then blocks inside the handler (never committing); ``fast``
writes ``done <event_id>`` and returns.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from tests.helpers.kit import probe_settings


async def main(bootstrap: str, prefix: str, marker: Path, mode: str) -> None:
    kit = ServiceKit(probe_settings(bootstrap, prefix))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        word = "start" if mode == "hang" else "done"
        with marker.open("a") as fh:
            fh.write(f"{word} {envelope.event_id}\n")
        if mode == "hang":
            await asyncio.sleep(3600)

    kit.consume("posts.ingested.v1", handle)
    await kit.start()
    with marker.open("a") as fh:
        fh.write("ready\n")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]))
