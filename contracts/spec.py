"""``TopicSpec``: how one topic is declared, and the names of the services that use topics."""

from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel

from contracts.envelope import Envelope, envelope_model

SERVICES: Final = ("router", "retrieval", "digest", "trend", "memory", "dlq")
"""The six services of DESIGN §2."""
EXTERNAL: Final = "external"
"""Another team's application, publishing or consuming on our bus."""

DAY_MS: Final = 86_400_000

Compatibility = Literal["BACKWARD", "FORWARD", "FULL"]
TopicKind = Literal["command", "event"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TopicSpec:
    """One topic: its payload model, partition key, sizing, users and evolution rule.

    ``key`` names the fields whose values, joined with ``:``, form the Kafka message key;
    ``tenant_id`` (and any other envelope field) is read from the envelope, every other name
    from the payload. ``producers`` include ``dlq`` wherever the DLQ service re-publishes
    retries. Topic creation (dev, tests, Helm) reads ``partitions``, ``retention_ms`` and
    ``max_message_bytes`` from here.
    """

    event_type: str
    version: int
    kind: TopicKind
    model: type[BaseModel]
    key: str
    partitions: int
    retention_ms: int
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    compatibility: Compatibility = "FULL"
    released: bool = True
    max_message_bytes: int = 1_048_576

    @property
    def name(self) -> str:
        """The Kafka topic, ``<event_type>.v<version>``."""
        return f"{self.event_type}.v{self.version}"

    @property
    def envelope_model(self) -> type[Envelope[Any]]:
        """``Envelope[model]``: validates a whole message of this topic."""
        return envelope_model(self.model)

    @property
    def key_fields(self) -> tuple[str, ...]:
        return tuple(self.key.split(":"))

    def partition_key(self, envelope: Envelope[Any]) -> bytes:
        """The Kafka key for ``envelope``, e.g. ``b"acme:-1001101170442"``.

        Raises ``ValueError`` when a key field is missing or empty.
        """
        values = []
        for field in self.key_fields:
            source = envelope if field in Envelope.model_fields else envelope.payload
            value = getattr(source, field, None)
            if value is None or value == "":
                raise ValueError(f"{self.name}: key field {field!r} is not set")
            values.append(str(value))
        return ":".join(values).encode()
