"""The ingestion command without Kafka: sources, envelopes, batching, progress, summary, exits."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import headers as H
from contracts.registry import parse_envelope
from servicekit.clock import ManualClock
from tools import ingest
from tools.dataset import data_dir
from tools.ingest import (
    CountingSink,
    KafkaSink,
    Options,
    Progress,
    PublishFailed,
    Record,
    RunInfo,
    Source,
    StopSwitch,
    Tally,
    UsageError,
    build_record,
    idempotency_key,
    parse_args,
    producer_config,
    resolve_sources,
    summary,
)
from tools.telegram_export import Chat, message_to_post

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
DATASET = data_dir() / "tg-ru-news-channels"
RUN = RunInfo("acme", "ingest@0.1.0", "01939083-b150-7b27-8eb8-b7f0aa6369fb")


class FakeSink:
    """Records what is sent and the batch boundaries; can be told to stop the run."""

    def __init__(self, stop_after_checkpoints: int | None = None) -> None:
        self.records: list[Record] = []
        self.checkpoints: list[int] = []
        self.flushed = 0
        self.stop = StopSwitch()
        self._stop_after = stop_after_checkpoints
        self._confirmed = 0

    async def send(self, record: Record) -> None:
        self.records.append(record)

    async def checkpoint(self) -> int:
        self.checkpoints.append(len(self.records))
        if self._stop_after is not None and len(self.checkpoints) >= self._stop_after:
            self.stop.set()
        return self._confirm()

    async def flush(self) -> int:
        self.flushed += 1
        return self._confirm()

    def _confirm(self) -> int:
        done, self._confirmed = len(self.records) - self._confirmed, len(self.records)
        return done


def _progress(stream: io.StringIO | None = None, *, tty: bool = False) -> Progress:
    clock = ManualClock(datetime(2024, 12, 4, tzinfo=UTC))
    return Progress(stream or io.StringIO(), tty=tty, clock=clock)


async def _ingest(sources: list[Source], sink: FakeSink, batch: int = 4) -> Tally:
    tally = Tally()
    await ingest.ingest(
        sources, run=RUN, sink=sink, batch=batch, tally=tally, progress=_progress(), stop=sink.stop
    )
    return tally


# -- sources ---------------------------------------------------------------------------------


def test_files_are_recognised_by_content(tmp_path: Path) -> None:
    dataset_file = next((DATASET / "raw").glob("*_messages.json"))
    got = resolve_sources([FIXTURES / "group_result.json", dataset_file])
    assert got == [
        Source(FIXTURES / "group_result.json", "telegram"),
        Source(dataset_file, "dataset"),
    ]


def test_folders(tmp_path: Path) -> None:
    assert len(resolve_sources([DATASET])) == 24  # the dataset's root: its raw/ files
    assert len(resolve_sources([DATASET / "raw"], "dataset")) == 24
    single = tmp_path / "ChatExport_2024-12-04"
    single.mkdir()
    shutil.copy(FIXTURES / "channel_result.json", single / "result.json")
    assert resolve_sources([single]) == [Source(single / "result.json", "telegram")]
    other = tmp_path / "ChatExport_2024-12-05"
    other.mkdir()
    shutil.copy(FIXTURES / "group_result.json", other / "result.json")
    assert [s.path.parent.name for s in resolve_sources([tmp_path])] == [single.name, other.name]


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda d: d / "missing.json", "missing.json: no such file or directory"),
        (lambda d: d, "no result.json or \\*_messages.json found"),
        (lambda d: _text(d / "notes.txt", "hello"), "notes.txt: not a JSON export or dataset"),
        (lambda d: _text(d / "empty.json", ""), "empty.json: not a JSON export or dataset"),
    ],
)
def test_unusable_inputs_are_named(tmp_path: Path, setup: Any, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        resolve_sources([setup(tmp_path)])


def test_a_forced_format_is_taken_as_said(tmp_path: Path) -> None:
    path = _text(tmp_path / "export.txt", "{}")
    assert resolve_sources([path], "telegram") == [Source(path, "telegram")]
    with pytest.raises(UsageError, match=r"no \*_messages\.json found"):
        resolve_sources([FIXTURES], "dataset")


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- envelopes and records -------------------------------------------------------------------


def _post(**fields: Any) -> Any:
    message = {"id": 7, "type": "message", "date_unixtime": "1733302828", "text": "x", **fields}
    return message_to_post(message, Chat("channel", "-1001234567890", "Новости"))


def test_idempotency_key_is_the_natural_key_and_the_edit() -> None:
    assert idempotency_key("acme", _post()) == "acme:-1001234567890:7"
    edited = _post(edited_unixtime="1733303000")
    assert idempotency_key("acme", edited) == "acme:-1001234567890:7:2024-12-04T09:03:20Z"


async def test_records_are_keyed_by_channel_and_carry_valid_envelopes() -> None:
    sink = FakeSink()
    tally = await _ingest([Source(FIXTURES / "group_result.json", "telegram")], sink)
    assert tally.published == tally.sent == len(sink.records) == 11
    for key, value, headers in sink.records:
        envelope = parse_envelope(value, topic="posts.ingested.v1")
        assert key == b"acme:-1002233445566"
        assert envelope.tenant_id == "acme"
        assert envelope.producer == "ingest@0.1.0"
        assert envelope.correlation_id == RUN.correlation_id
        assert envelope.idempotency_key.startswith(envelope.payload.natural_key("acme"))
        assert dict(headers)[H.EVENT_TYPE] == b"posts.ingested"
        assert dict(headers)[H.EVENT_ID] == envelope.event_id.encode()
        assert dict(headers)[H.TENANT_ID] == b"acme"


def test_build_record_value_is_the_envelope_json() -> None:
    from contracts.envelope import make_envelope

    env = make_envelope(
        _post(),
        event_type="posts.ingested",
        schema_version=1,
        producer="ingest@0.1.0",
        tenant_id="acme",
    )
    key, value, _ = build_record(env)
    assert key == b"acme:-1001234567890"
    assert json.loads(value)["payload"]["text"] == "x"


# -- the run ---------------------------------------------------------------------------------


async def test_batches_are_checkpointed_and_everything_is_flushed() -> None:
    sink = FakeSink()
    sources = [
        Source(FIXTURES / n, "telegram") for n in ("channel_result.json", "group_result.json")
    ]
    tally = await _ingest(sources, sink, batch=4)
    assert sink.checkpoints == [4, 8, 12, 16, 20]  # 21 posts, batches span files
    assert sink.flushed == 1
    assert tally.published == 21
    assert tally.files == 2
    assert tally.skipped["service message"] == 6


async def test_stop_ends_reading_after_the_batch_and_flushes_it() -> None:
    sink = FakeSink(stop_after_checkpoints=2)
    sources = [Source(FIXTURES / "channel_result.json", "telegram")] * 3
    tally = await _ingest(sources, sink, batch=3)
    assert len(sink.records) == 6
    assert tally.published == 6
    assert sink.flushed == 1
    assert tally.files == 1


async def test_a_file_that_goes_bad_is_reported_and_the_next_is_read(tmp_path: Path) -> None:
    whole = (FIXTURES / "group_result.json").read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(whole[: whole.index(b'"id": 9,')])
    sources = [Source(cut, "telegram"), Source(FIXTURES / "channel_result.json", "telegram")]
    sink = FakeSink()
    tally = await _ingest(sources, sink)
    assert tally.published == 6 + 10
    assert len(tally.unreadable) == 1
    assert "cut.json: invalid JSON" in tally.unreadable[0]


class CountdownStop(StopSwitch):
    """Reports stopped from its ``after``-th question on, as if Ctrl-C came then."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self._left = after

    def is_set(self) -> bool:
        self._left -= 1
        return self._left < 0


async def test_stop_ends_a_long_stretch_of_skipped_messages(tmp_path: Path) -> None:
    chat = {"name": "Мама", "type": "personal_chat", "id": 111}
    chat["messages"] = [{"id": i, "type": "message", "text": "x"} for i in range(1, 1001)]
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"chats": {"list": [chat]}}), encoding="utf-8")
    sink, tally = FakeSink(), Tally()
    stop = CountdownStop(after=50)
    await ingest.ingest(
        [Source(export, "telegram")] * 2,
        run=RUN, sink=sink, batch=4, tally=tally, progress=_progress(), stop=stop,
    )  # fmt: skip
    assert sum(tally.skipped.values()) == 50  # not 2000: no post, no batch, yet it stopped
    assert tally.files == 1
    assert sink.flushed == 1


def test_stop_switch_takes_the_first_signal_and_aborts_on_the_second() -> None:
    err = io.StringIO()
    stop = StopSwitch(err)
    before = signal.getsignal(signal.SIGINT)
    stop.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()
        assert "SIGTERM: finishing the batch in flight; again to abort" in err.getvalue()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        stop.uninstall()
    assert signal.getsignal(signal.SIGINT) is before


def test_producer_config() -> None:
    config = producer_config("kafka:9092", "none")
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["compression_type"] is None
    assert config["linger_ms"] > 0
    assert producer_config("kafka:9092")["compression_type"] == "gzip"


def test_skips_are_counted_and_the_first_unexpected_ones_noted() -> None:
    tally = Tally()
    for i in range(5):
        tally.skip("service message", f"m{i}")
        tally.skip("missing date", f"m{i}")
    tally.skip("not a channel or group (personal_chat)", "chat Мама")
    assert tally.skipped["missing date"] == 5
    assert tally.notes == [f"skipped (missing date): m{i}" for i in range(3)]


# -- sinks -----------------------------------------------------------------------------------


class FakeProducer:
    """``send`` returns a future per record, settled later by the test."""

    def __init__(self) -> None:
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, value: bytes, *, key: bytes, headers: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


async def test_kafka_sink_keeps_one_batch_in_flight_and_reports_failures() -> None:
    producer = FakeProducer()
    sink = KafkaSink(producer, "t", in_flight=1)
    record: Record = (b"k", b"v", [])
    for _ in range(3):
        await sink.send(record)
    assert await sink.checkpoint() == 0  # the first batch may still be in flight
    for _ in range(2):
        await sink.send(record)
    for future in producer.futures[:3]:
        future.set_result(None)
    assert await sink.checkpoint() == 3  # waits for the batch before the last
    producer.futures[3].set_result(None)
    producer.futures[4].set_exception(RuntimeError("broker gone"))
    with pytest.raises(PublishFailed, match="broker gone") as caught:
        await sink.flush()
    assert caught.value.acknowledged == 1


async def test_counting_sink() -> None:
    sink = CountingSink()
    await sink.send((b"k", b"value", []))
    assert await sink.checkpoint() == 1
    assert (sink.records, sink.bytes) == (1, 5)
    assert await sink.flush() == 0


# -- progress and summary --------------------------------------------------------------------


def test_progress_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    clock = ManualClock(datetime(2024, 12, 4, tzinfo=UTC))
    progress = Progress(out, tty=False, clock=clock)
    progress.file(1, 2, Path("a/result.json"))
    tally = Tally(published=100)
    clock.advance(1)
    progress.update(tally)
    assert out.getvalue() == ""  # not due yet
    clock.advance(4)
    progress.update(tally)
    assert out.getvalue() == (
        "ingest: 100 published, 0 skipped, 20 posts/s, 5.0 s, file 1/2 result.json\n"
    )


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    out = io.StringIO()
    clock = ManualClock(datetime(2024, 12, 4, tzinfo=UTC))
    progress = Progress(out, tty=True, clock=clock)
    tally = Tally(published=10)
    clock.advance(1)
    progress.update(tally)
    tally.notes.append("skipped (missing date): m1")
    clock.advance(1)
    progress.update(tally)
    progress.close(tally)
    assert out.getvalue().split("\r\x1b[K") == [
        "",
        "ingest: 10 published, 0 skipped, 10 posts/s, 1.0 s, ",
        "skipped (missing date): m1\n",
        "ingest: 10 published, 0 skipped, 5 posts/s, 2.0 s, ",
        "ingest: 10 published, 0 skipped, 5 posts/s, 2.0 s, \n",
    ]


def test_summary_lists_reasons_and_errors() -> None:
    tally = Tally(sent=5, published=3, files=2, unreadable=["b.json: invalid JSON"])
    tally.skipped.update({"service message": 2, "missing date": 1})
    text = summary(
        tally, topic="posts.ingested.v1", run=RUN, elapsed=2.0, dry_run=False, interrupted=True
    )
    assert text.splitlines() == [
        "3 posts published to posts.ingested.v1 for tenant acme in 2.0 s (2 posts/s) "
        "from 2 file(s)",
        "interrupted: stopped after 3 posts; running again re-sends them with the same "
        "idempotency keys",
        "not acknowledged: 2 posts sent",
        "skipped: 3",
        "         1  missing date",
        "         2  service message",
        "unreadable: b.json: invalid JSON",
        f"run correlation id: {RUN.correlation_id}",
    ]


# -- the command -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["x.json"],  # no tenant
        ["x.json", "--tenant", "a:b"],
        ["x.json", "--tenant", "a", "--batch", "0"],
        ["x.json", "--tenant", "a", "--topic-prefix", "a b"],
        ["x.json", "--tenant", "a", "--format", "csv"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == 2


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGI_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("TGI_TOPIC_PREFIX", "staging.")
    options = parse_args(["a.json", "--tenant", "acme"])
    assert options == Options(
        paths=(Path("a.json"),),
        tenant="acme",
        format="auto",
        bootstrap="kafka:9092",
        topic_prefix="staging.",
        batch=500,
        dry_run=False,
        compression="gzip",
    )


def test_dry_run_counts_without_kafka(capsys: pytest.CaptureFixture[str]) -> None:
    code = ingest.main([str(FIXTURES), "--tenant", "acme", "--dry-run", "--format", "telegram"])
    assert code == 2  # a folder of *_result.json files is not an export folder
    assert "no result.json found" in capsys.readouterr().err
    files = sorted(str(p) for p in FIXTURES.glob("*.json"))
    code = ingest.main([*files, "--tenant", "acme", "--dry-run", "--bootstrap", "127.0.0.1:1"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith("27 posts parsed (dry run, nothing published) for tenant acme")
    assert "        8  service message" in out
    assert "skipped (missing date): channel_result.json chat -1001234567890 message 11" in err


def test_an_unreadable_file_midway_exits_2_after_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _text(
        tmp_path / "bad.json", '{"name": "x", "type": "public_channel", "id": 1, "messages": ['
    )
    code = ingest.main(
        [str(bad), str(FIXTURES / "group_result.json"), "--tenant", "acme", "--dry-run"]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert out.startswith("11 posts parsed")
    assert f"unreadable: {bad}: invalid JSON" in out
    assert f"ingest: error: {bad}: invalid JSON" in err
