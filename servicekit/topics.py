"""Creating topics from the contracts registry (dev, tests, and the Helm job).

``python -m servicekit.topics [--bootstrap HOST:PORT] [--prefix P] [--replication N]``; the
Kafka security settings come from the environment as for every service
(``TGI_KAFKA_SECURITY_PROTOCOL``, ``TGI_KAFKA_SASL_MECHANISM``, ``TGI_KAFKA_SASL_USERNAME``,
``TGI_KAFKA_SASL_PASSWORD``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic_settings import SettingsConfigDict

from contracts.registry import REGISTRY, TopicSpec
from servicekit.kafka import admin_options
from servicekit.settings import ServiceSettings, load_settings

#: Topics accept more than consumers process, so an oversized message reaches its consumer and
#: is dead-lettered with a reason instead of failing at the producer with no trace here.
MIN_TOPIC_MESSAGE_BYTES = 8 * 1024 * 1024


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] | None = None,
    *,
    prefix: str = "",
    replication: int = 1,
    extra: Iterable[tuple[str, int]] = (),
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create every missing topic; return the names created. Existing topics are left alone."""
    wanted = [
        NewTopic(
            name=prefix + spec.name,
            num_partitions=spec.partitions,
            replication_factor=replication,
            topic_configs={
                "retention.ms": str(spec.retention_ms),
                "max.message.bytes": str(max(spec.max_message_bytes, MIN_TOPIC_MESSAGE_BYTES)),
            },
        )
        for spec in (specs if specs is not None else REGISTRY.values())
    ]
    wanted += [
        NewTopic(name=name, num_partitions=parts, replication_factor=replication)
        for name, parts in extra
    ]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **(client_options or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            # a concurrent creator may win the race; that is fine
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            await _wait_for_leaders(admin, [t.name for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], timeout_s: float = 15.0
) -> None:
    """A new topic's partitions get leaders a moment after creation; producing before that
    fails with NotLeaderForPartition and costs retries, so wait (bounded) for all of them."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        ready = all(
            t.get("error_code", 0) == 0
            and t.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        )
        if ready or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.1)


class TopicsSettings(ServiceSettings):
    """The shared ``TGI_`` settings (Kafka security among them) of the topics command."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_TOPICS_")
    service_name: ClassVar[str] = "topics"


def main() -> None:
    parser = argparse.ArgumentParser(description="Create Kafka topics from the registry")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--replication", type=int, default=1)
    args = parser.parse_args()
    security = load_settings(TopicsSettings)
    created = asyncio.run(
        ensure_topics(
            args.bootstrap,
            prefix=args.prefix,
            replication=args.replication,
            client_options=admin_options(security),
        )
    )
    print(f"topics: {len(REGISTRY)} in registry, {len(created)} created")
    for name in created:
        print(f"  created {name}")


if __name__ == "__main__":
    main()
