"""Publish Telegram exports and the shipped dataset on ``posts.ingested.v1``.

    python -m tools.ingest PATH... --tenant T [--format auto|telegram|dataset]
        [--bootstrap HOST:PORT] [--topic-prefix P] [--batch 500] [--dry-run]
        [--compression gzip|none|lz4|zstd|snappy]

A PATH is a Telegram Desktop ``result.json`` (one chat or a whole account), a folder holding
one (or export folders holding one each), a dataset file ``<id>_messages.json``, or a folder of
those (``tg-ru-news-channels`` or its ``raw/``). Files are streamed. Each post becomes one
envelope whose ``idempotency_key`` is the post's natural key ``tenant:channel:message`` (plus
``:<edit date>`` for an edited post), so running the same file again is recognisable
downstream while a later edit is not mistaken for a redelivery. Records are keyed
``tenant:channel`` (the registry's key), so a channel's posts stay in order on one partition.

Progress goes to stderr, the summary to stdout. Exit status: 0 done (skipped messages are
reported, not errors), 1 Kafka failed, 2 bad arguments or an unreadable file (named),
130 interrupted: the first Ctrl-C stops reading, waits for what was sent, and reports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TextIO

from aiokafka import AIOKafkaProducer, codec
from aiokafka.errors import KafkaConnectionError, KafkaError

from contracts.envelope import Envelope, make_envelope, new_event_id
from contracts.fields import TENANT_PATTERN
from contracts.headers import envelope_headers
from contracts.registry import REGISTRY
from contracts.v1.posts import PostIngested
from servicekit.clock import Clock, SystemClock
from servicekit.topics import ensure_topics
from tools.dataset import FILE_PATTERN, dataset_files, read_dataset
from tools.telegram_export import (
    OnSkip,
    UnreadableFile,
    is_expected_skip,
    open_json,
    read_export,
)

TOPIC: Final = "posts.ingested.v1"
SPEC: Final = REGISTRY[TOPIC]
WARNINGS_PER_REASON: Final = 3
EXIT_OK, EXIT_KAFKA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_CODECS: Final[dict[str, Callable[[], bool]]] = {
    "none": lambda: True,
    "gzip": codec.has_gzip,
    "lz4": codec.has_lz4,
    "zstd": codec.has_zstd,
    "snappy": codec.has_snappy,
}

Format = Literal["telegram", "dataset"]
FormatChoice = Literal["auto", "telegram", "dataset"]
Record = tuple[bytes, bytes, list[tuple[str, bytes]]]
"""``(key, value, headers)`` of one Kafka record."""


class UsageError(Exception):
    """Bad arguments or an input that cannot be read; the message names it (exit status 2)."""


class PublishFailed(Exception):
    """Kafka did not acknowledge some records; ``acknowledged`` counts those it did."""

    def __init__(self, cause: BaseException, acknowledged: int) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.acknowledged = acknowledged


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and how to read it."""

    path: Path
    format: Format


def resolve_sources(paths: Sequence[Path], fmt: FormatChoice = "auto") -> list[Source]:
    """The files to read for ``paths``, each opened once to check it; raises ``UsageError``."""
    sources: list[Source] = []
    for path in paths:
        if path.is_dir():
            sources += _folder_sources(path, fmt)
        elif path.exists():
            sources.append(Source(path, sniff(path) if fmt == "auto" else fmt))
        else:
            raise UsageError(f"{path}: no such file or directory")
    for source in sources:
        try:
            with open_json(source.path):
                pass
        except UnreadableFile as exc:
            raise UsageError(str(exc)) from exc
    return sources


def _folder_sources(folder: Path, fmt: FormatChoice) -> list[Source]:
    if fmt in ("auto", "telegram"):
        exports = [folder / "result.json"] if (folder / "result.json").is_file() else []
        exports = exports or sorted(folder.glob("*/result.json"))
        if exports:
            return [Source(path, "telegram") for path in exports]
    if fmt in ("auto", "dataset"):
        files = dataset_files(folder) or dataset_files(folder / "raw")
        if files:
            return [Source(path, "dataset") for path in files]
    wanted = {"telegram": "result.json", "dataset": FILE_PATTERN}.get(
        fmt, "result.json or " + FILE_PATTERN
    )
    raise UsageError(f"{folder}: no {wanted} found")


def sniff(path: Path) -> Format:
    """``dataset`` for a file holding a JSON list, ``telegram`` for an object."""
    try:
        with open_json(path) as stream:
            head = stream.read(4096).lstrip()
    except UnreadableFile as exc:
        raise UsageError(str(exc)) from exc
    if head.startswith(b"["):
        return "dataset"
    if head.startswith(b"{"):
        return "telegram"
    raise UsageError(f"{path}: not a JSON export or dataset file (use --format to say which)")


def read_posts(source: Source, on_skip: OnSkip) -> Generator[PostIngested, None, None]:
    """The posts of one source; raises ``UnreadableFile`` naming it when it goes bad."""
    reader = read_export if source.format == "telegram" else read_dataset
    return reader(source.path, on_skip)


def idempotency_key(tenant_id: str, post: PostIngested) -> str:
    """``tenant:channel:message``, plus ``:<edit date>`` for an edited post (as the contract's
    ``edited-post-with-photo`` example does), so an edit is not dropped as a duplicate."""
    key = post.natural_key(tenant_id)
    if post.edit_date is None:
        return key
    return f"{key}:{post.edit_date.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def build_record(envelope: Envelope[PostIngested]) -> Record:
    """The Kafka key (``tenant:channel``), JSON value and envelope headers of one post."""
    headers = [(name, value.encode()) for name, value in envelope_headers(envelope).items()]
    return SPEC.partition_key(envelope), envelope.model_dump_json().encode(), headers


@dataclass(slots=True)
class Tally:
    """What a run did so far."""

    sent: int = 0
    """Records handed to the sink."""
    published: int = 0
    """Records the sink confirmed (acknowledged by Kafka, or counted in a dry run)."""
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Warnings to print: the first few skips of each unexpected reason."""

    def skip(self, reason: str, where: str) -> None:
        """Count a message that did not become a post; keep a note of the first few."""
        self.skipped[reason] += 1
        if not is_expected_skip(reason) and self.skipped[reason] <= WARNINGS_PER_REASON:
            self.notes.append(f"skipped ({reason}): {where}")


class Sink(Protocol):
    """Where records go. ``send`` may return before the record is acknowledged."""

    async def send(self, record: Record) -> None: ...

    async def checkpoint(self) -> int:
        """Close a batch; wait for the one before it. Returns the records newly confirmed."""
        ...

    async def flush(self) -> int:
        """Wait for every record sent. Returns the records newly confirmed."""
        ...


class KafkaSink:
    """Publishes with an ``AIOKafkaProducer``, leaving at most ``in_flight`` closed batches
    unacknowledged while the next one is built."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, *, in_flight: int = 2) -> None:
        self._producer, self._topic, self._in_flight = producer, topic, in_flight
        self._batches: list[list[asyncio.Future[Any]]] = [[]]

    async def send(self, record: Record) -> None:
        key, value, headers = record
        future = await self._producer.send(self._topic, value, key=key, headers=headers)
        self._batches[-1].append(future)

    async def checkpoint(self) -> int:
        self._batches.append([])
        return await self._settle(keep=self._in_flight + 1)

    async def flush(self) -> int:
        self._batches.append([])
        return await self._settle(keep=1)

    async def _settle(self, keep: int) -> int:
        done = 0
        while len(self._batches) > keep:
            batch = self._batches.pop(0)
            results = await asyncio.gather(*batch, return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            done += len(results) - len(failed)
            if failed:
                raise PublishFailed(failed[0], done)
        return done


class CountingSink:
    """``--dry-run``: records are built and counted, nothing is sent."""

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0
        self._pending = 0

    async def send(self, record: Record) -> None:
        self.records += 1
        self.bytes += len(record[1])
        self._pending += 1

    async def checkpoint(self) -> int:
        return await self.flush()

    async def flush(self) -> int:
        done, self._pending = self._pending, 0
        return done


class Progress:
    """One status line on stderr: rewritten in place on a terminal, printed every
    ``every_s`` seconds (5 by default) otherwise."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        clock: Clock,
        every_s: float | None = None,
        verb: str = "published",
    ) -> None:
        self._stream, self._tty, self._clock, self._verb = stream, tty, clock, verb
        self._every = every_s if every_s is not None else (0.2 if tty else 5.0)
        self._start = self._last = clock.monotonic()
        self._drawn = False
        self._where = ""

    @property
    def elapsed(self) -> float:
        return self._clock.monotonic() - self._start

    def file(self, number: int, total: int, path: Path) -> None:
        self._where = f"file {number}/{total} {path.name}"

    def update(self, tally: Tally, *, force: bool = False) -> None:
        """Print pending notes, then the status line when it is due (or ``force``)."""
        for note in tally.notes:
            self.note(note)
        tally.notes.clear()
        now = self._clock.monotonic()
        if not force and now - self._last < self._every:
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        line = (
            f"ingest: {tally.published:,} {self._verb}, {sum(tally.skipped.values()):,} skipped, "
            f"{tally.published / elapsed:,.0f} posts/s, {elapsed:.1f} s, {self._where}"
        )
        if self._tty:
            self._stream.write(f"\r\x1b[K{line}")
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a warning), above the status line."""
        self._stream.write(("\r\x1b[K" if self._drawn else "") + text + "\n")
        self._drawn = False
        self._stream.flush()

    def close(self, tally: Tally) -> None:
        self.update(tally, force=True)
        if self._drawn:
            self._stream.write("\n")
            self._drawn = False


class StopSwitch:
    """Set by the first SIGINT or SIGTERM; the next one raises ``KeyboardInterrupt``.

    A plain signal handler, not the event loop's: it takes effect between two bytecodes,
    so a long stretch of skipped messages (no await, no batch) still stops promptly.
    """

    _SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, err: TextIO | None = None) -> None:
        self._err = err
        self._set = False
        self._previous: dict[int, Any] = {}

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True

    def install(self) -> None:
        """Handle SIGINT and SIGTERM until ``uninstall``."""
        for sig in self._SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: object) -> None:
        if self._set:
            raise KeyboardInterrupt
        self._set = True
        if self._err is not None:
            name = signal.Signals(signum).name
            self._err.write(f"\n{name}: finishing the batch in flight; again to abort\n")


class Stopped(Exception):
    """Raised into a reader to end it early when the run is stopped."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What every envelope of one run shares."""

    tenant_id: str
    producer: str
    correlation_id: str
    """One per run, so the run's posts (and what services do with them) can be traced."""


async def ingest(
    sources: Sequence[Source],
    *,
    run: RunInfo,
    sink: Sink,
    batch: int,
    tally: Tally,
    progress: Progress,
    stop: StopSwitch,
) -> None:
    """Read every source and send its posts in batches until done or ``stop`` is set.

    Everything sent is flushed before returning. A file that goes bad midway is recorded in
    ``tally.unreadable`` and the next one is read. Raises ``PublishFailed`` from the sink.
    """

    def on_skip(reason: str, where: str) -> None:
        tally.skip(reason, where)
        if stop.is_set():
            raise Stopped

    in_batch = 0
    for number, source in enumerate(sources, 1):
        if stop.is_set():
            break
        progress.file(number, len(sources), source.path)
        try:
            with closing(read_posts(source, on_skip)) as posts:
                for post in posts:
                    envelope = make_envelope(
                        post,
                        event_type=SPEC.event_type,
                        schema_version=SPEC.version,
                        producer=run.producer,
                        tenant_id=run.tenant_id,
                        correlation_id=run.correlation_id,
                        idempotency_key=idempotency_key(run.tenant_id, post),
                    )
                    await sink.send(build_record(envelope))
                    tally.sent += 1
                    in_batch += 1
                    if in_batch >= batch:
                        in_batch = 0
                        tally.published += await sink.checkpoint()
                        progress.update(tally)
                        if stop.is_set():
                            break
        except UnreadableFile as exc:
            tally.unreadable.append(str(exc))
            progress.note(f"ingest: error: {exc}")
        except Stopped:
            pass
        tally.files += 1
    tally.published += await sink.flush()


def summary(
    tally: Tally, *, topic: str, run: RunInfo, elapsed: float, dry_run: bool, interrupted: bool
) -> str:
    """The closing report: published, skipped by reason, unreadable files, time and rate."""
    rate = tally.published / elapsed if elapsed > 0 else 0.0
    verb = "parsed (dry run, nothing published)" if dry_run else f"published to {topic}"
    lines = [
        f"{tally.published:,} posts {verb} for tenant {run.tenant_id} "
        f"in {elapsed:.1f} s ({rate:,.0f} posts/s) from {tally.files} file(s)"
    ]
    if interrupted:
        lines.append(
            f"interrupted: stopped after {tally.published:,} posts; running again re-sends "
            "them with the same idempotency keys"
        )
    if tally.sent > tally.published:
        lines.append(f"not acknowledged: {tally.sent - tally.published:,} posts sent")
    total = sum(tally.skipped.values())
    lines.append(f"skipped: {total:,}" if total else "skipped: none")
    lines += [f"  {count:>8,}  {reason}" for reason, count in sorted(tally.skipped.items())]
    lines += [f"unreadable: {error}" for error in tally.unreadable]
    lines.append(f"run correlation id: {run.correlation_id}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    paths: tuple[Path, ...]
    tenant: str
    format: FormatChoice
    bootstrap: str
    topic_prefix: str
    batch: int
    dry_run: bool
    compression: str = "gzip"


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse and check the command line; exits with status 2 and a message when it is wrong."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.ingest",
        description="Publish Telegram exports and the shipped dataset on posts.ingested.v1.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--tenant", required=True, help="tenant id the posts belong to")
    parser.add_argument("--format", choices=("auto", "telegram", "dataset"), default="auto")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default $TGI_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
    )
    parser.add_argument(
        "--topic-prefix",
        default=os.environ.get("TGI_TOPIC_PREFIX", ""),
        help="prefix of the topic name (default $TGI_TOPIC_PREFIX or none)",
    )
    parser.add_argument("--batch", type=int, default=500, help="records per acknowledged batch")
    parser.add_argument("--dry-run", action="store_true", help="parse and count, no Kafka")
    parser.add_argument(
        "--compression",
        choices=sorted(_CODECS),
        default="gzip",
        help="record batch compression (default gzip, which needs no extra package; "
        "'none' doubles the rate on a loopback broker; lz4/zstd/snappy need cramjam)",
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(TENANT_PATTERN, args.tenant):
        parser.error(f"--tenant {args.tenant!r} must match {TENANT_PATTERN}")
    if not re.fullmatch(r"[A-Za-z0-9._-]*", args.topic_prefix):
        parser.error(f"--topic-prefix {args.topic_prefix!r} may hold only letters, digits, . _ -")
    if not 1 <= args.batch <= 100_000:
        parser.error("--batch must be between 1 and 100000")
    if not _CODECS[args.compression]():
        parser.error(f"--compression {args.compression} needs the cramjam package")
    return Options(
        paths=tuple(args.paths),
        tenant=args.tenant,
        format=args.format,
        bootstrap=args.bootstrap,
        topic_prefix=args.topic_prefix,
        batch=args.batch,
        dry_run=args.dry_run,
        compression=args.compression,
    )


def producer_name() -> str:
    """``ingest@<package version>``, the envelope's ``producer``."""
    try:
        return f"ingest@{metadata.version('tgint')}"
    except metadata.PackageNotFoundError:
        return "ingest@0.0.0"


def producer_config(bootstrap: str, compression: str = "gzip") -> dict[str, Any]:
    """Idempotent, ``acks=all``, batching with a short linger, compressed batches."""
    return {
        "bootstrap_servers": bootstrap,
        "client_id": "tgint-ingest",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "compression_type": None if compression == "none" else compression,
    }


async def run(
    options: Options,
    sources: Sequence[Source],
    *,
    out: TextIO,
    err: TextIO,
    clock: Clock | None = None,
) -> int:
    """Publish ``sources`` as ``options`` say, print the summary; returns the exit status.

    The first Ctrl-C (SIGINT) or SIGTERM stops reading; what was sent is flushed and reported
    and the status is 130. A second one aborts at once (``KeyboardInterrupt``).
    """
    stop = StopSwitch(err)
    stop.install()
    progress = Progress(
        err,
        tty=err.isatty(),
        clock=clock or SystemClock(),
        verb="parsed" if options.dry_run else "published",
    )
    info = RunInfo(options.tenant, producer_name(), new_event_id())
    topic = options.topic_prefix + TOPIC
    tally = Tally()
    status = EXIT_OK
    producer: AIOKafkaProducer | None = None
    try:
        if options.dry_run:
            sink: Sink = CountingSink()
        else:
            await ensure_topics(options.bootstrap, [SPEC], prefix=options.topic_prefix)
            producer = AIOKafkaProducer(**producer_config(options.bootstrap, options.compression))
            await producer.start()
            sink = KafkaSink(producer, topic)
        await ingest(
            sources,
            run=info,
            sink=sink,
            batch=options.batch,
            tally=tally,
            progress=progress,
            stop=stop,
        )
    except PublishFailed as exc:
        tally.published += exc.acknowledged
        progress.note(f"ingest: error: publishing to {topic} failed: {exc}")
        status = EXIT_KAFKA
    except KafkaError as exc:
        unreachable = isinstance(exc, KafkaConnectionError)
        what = f"cannot reach Kafka at {options.bootstrap}" if unreachable else "Kafka"
        progress.note(f"ingest: error: {what}: {type(exc).__name__}: {exc}")
        status = EXIT_KAFKA
    finally:
        stop.uninstall()
        if producer is not None:
            await producer.stop()
    progress.close(tally)
    if status == EXIT_OK and tally.unreadable:
        status = EXIT_USAGE
    if status == EXIT_OK and stop.is_set():
        status = EXIT_INTERRUPTED
    report = summary(
        tally,
        topic=topic,
        run=info,
        elapsed=progress.elapsed,
        dry_run=options.dry_run,
        interrupted=stop.is_set(),
    )
    print(report, file=out, flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """The command: parse, check every input, publish, report. Returns the exit status."""
    options = parse_args(argv)
    try:
        sources = resolve_sources(options.paths, options.format)
    except UsageError as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    try:
        return asyncio.run(run(options, sources, out=sys.stdout, err=sys.stderr))
    except KeyboardInterrupt:
        print(f"ingest: aborted after {time.monotonic() - started:.1f} s", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
