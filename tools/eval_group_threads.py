"""Group-digest threads against human-annotated conversations of real group chat.

``python -m tools.eval_group_threads`` (``make eval-digest`` runs it too): the
``ubuntu-irc-disentangle`` dataset (Kummerfeld et al. 2019, ACL; Gouravajhala et al. 2023,
ALTA) gives IRC chat whose reply links were drawn by people; their connected components are
the gold conversations. Each sample becomes the digest domain's ``Post`` objects the way a
group chat's messages arrive: author, time, text, and **no reply id** (IRC has none; the only
reply signal is in the text, e.g. ``nick: …`` addressing, which ``build_threads`` may read).
System lines (joins, parts) are not messages and are left out.

Each sample is one group-digest window: its messages from 24 h (the longest group window)
before the first annotated line to the last line go to the threader, and the threads are
scored on the annotated messages only (earlier lines are context; their threads are unknown).
The figures (Kummerfeld et al. 2019, ``tools/evaluation/conversation-eval.py``):

- **1-1**: one-to-one overlap (Elsner and Charniak 2008): the messages on which gold and
  predicted threads agree under the best one-to-one pairing of threads, over all messages;
- **P/R/F**: exact-conversation precision, recall and F1: predicted threads identical to a
  gold conversation, over predicted threads (P) and over gold conversations (R), threads of
  one message left out on both sides;
- **VI**: variation of information in bits (lower is better) and ``1 - VI / log2 n``
  (higher is better; n = messages scored).

Figures pool the samples of a group (one contingency table, as the reference script does).
Rows: two baselines (every message its own thread; time-gap chaining, each message joining
the previous message's thread when at most 2 minutes after it), ``build_threads`` as it was
before group-chat cues (``legacy_threads``: reply links, then ≤ 10 min and a shared stem) and
``build_threads`` as it is. The threader's parameters were tuned on ``ubuntu-dev`` and
``channel-two`` only; ``ubuntu-test`` and ``new-domains`` are held out. "4-24 h windows" is
the README's list of samples whose annotated part spans 4 h or more.

**Tuning** (the only place parameters were chosen): ``build_threads`` with one
``ThreadParams`` field changed at a time, on the tuned-on samples only; printed and kept in
the report so the choice can be checked.

Prints tables and writes the ``group_threads`` key of ``reports/eval-digest.json`` (the other
keys are kept). A few seconds on one core.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from services.digest.domain.model import Post
from services.digest.domain.text import stems
from services.digest.domain.threads import Thread, ThreadParams, build_threads
from tools.dataset import data_dir
from tools.report import REPO

GROUPS: Final = ("ubuntu-dev", "ubuntu-test", "new-domains", "channel-two")
TUNED_ON: Final = ("ubuntu-dev", "channel-two")
HELD_OUT: Final = ("ubuntu-test", "new-domains")
#: The README's samples whose annotated part spans 4 h or more (reply links cover the window).
LONG_WINDOWS: Final = (
    "ubuntu-test-2007-01-11_12",
    "ubuntu-test-2016-06-08_07",
    "ubuntu-test-2015-03-18_05",
    "ubuntu-test-2013-09-01_02",
    "new-domains-rust.0",
    "new-domains-rust.1",
    "new-domains-rust.2",
    "new-domains-mediawiki.2",
    "linux-channel-two-all",
)
CONTEXT: Final = timedelta(hours=24)
CHAIN_GAP: Final = timedelta(minutes=2)
#: channel-two has clock times and day offsets only; any fixed day will do.
UNDATED_DAY: Final = datetime(2000, 1, 1, tzinfo=UTC)
REPORT: Final = REPO / "reports" / "eval-digest.json"
KEY: Final = "group_threads"


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample as a digest window: its posts (oldest first) and, for each annotated post,
    its gold conversation."""

    sample_id: str
    group: str
    posts: tuple[Post, ...]
    gold: Mapping[str, str]


def group_of(sample_id: str) -> str:
    """``ubuntu-dev``, ``ubuntu-test``, ``new-domains`` or ``channel-two``."""
    for group in GROUPS[:3]:
        if sample_id.startswith(group + "-"):
            return group
    if sample_id.startswith("linux-channel-two"):
        return "channel-two"
    raise ValueError(f"unknown sample {sample_id}")


def _date(row: Mapping[str, Any]) -> datetime | None:
    if row.get("ts"):
        return datetime.fromisoformat(row["ts"]).replace(tzinfo=UTC)
    if row.get("time") and row.get("day_offset") is not None:
        hours, minutes = (int(x) for x in row["time"].split(":"))
        return UNDATED_DAY + timedelta(days=row["day_offset"], hours=hours, minutes=minutes)
    return None


def to_post(row: Mapping[str, Any]) -> Post | None:
    """A chat line as a group-chat post (``None`` for system lines and undated lines). The
    line number is the message id; there is no reply id."""
    when = _date(row)
    if row["kind"] == "system" or not row.get("author") or when is None:
        return None
    return Post(
        post_id=f"{row['sample']}:{row['line']:05d}",
        channel_id=row["sample"],
        channel_title=None,
        message_id=row["line"],
        date=when,
        text=row["text"] or "",
        language="en",
        author_id=row["author"],
        author_name=row["author"],
    )


def load_samples(path: Path | None = None) -> list[Sample]:
    """Every sample of ``messages.jsonl`` as one window (see the module docstring)."""
    path = path or data_dir() / "ubuntu-irc-disentangle" / "messages.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path} (set TGI_DATA_DIR)")
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            rows[row["sample"]].append(row)
    samples = []
    for sample_id in sorted(rows):
        pairs = [(r, p) for r in rows[sample_id] if (p := to_post(r)) is not None]
        scored = [(r, p) for r, p in pairs if r["annotated"] and r["thread"]]
        since = min(p.date for _, p in scored) - CONTEXT
        samples.append(
            Sample(
                sample_id=sample_id,
                group=group_of(sample_id),
                posts=tuple(p for _, p in pairs if p.date >= since),
                gold={p.post_id: r["thread"] for r, p in scored},
            )
        )
    return samples


# --- baselines and the threader before group-chat cues ---------------------------------


def singletons(posts: Sequence[Post]) -> dict[str, str]:
    """Baseline: every message its own thread."""
    return {p.post_id: p.post_id for p in posts}


def time_chain(posts: Sequence[Post], gap: timedelta = CHAIN_GAP) -> dict[str, str]:
    """Baseline: a message joins the previous message's thread when at most ``gap`` after it."""
    out: dict[str, str] = {}
    previous: Post | None = None
    for post in sorted(posts, key=lambda p: (p.date, p.message_id)):
        joins = previous is not None and post.date - previous.date <= gap
        out[post.post_id] = out[previous.post_id] if joins and previous else post.post_id
        previous = post
    return out


def legacy_threads(posts: Sequence[Post], gap: timedelta = timedelta(minutes=10)) -> list[Thread]:
    """``build_threads`` before group-chat cues, kept verbatim as the "before" row: reply
    links, then the latest thread (by creation) whose last message is ≤ ``gap`` old and shares
    a stem."""
    ordered = sorted(posts, key=lambda p: (p.date, p.post_id))
    by_message: dict[tuple[str, int], Thread] = {}
    threads: list[Thread] = []
    for post in ordered:
        terms = set(stems(post.text))
        target = None
        if post.reply_to_message_id is not None:
            target = by_message.get((post.channel_id, post.reply_to_message_id))
        if target is None:
            for thread in reversed(threads):
                last = thread.posts[-1]
                if post.date - last.date > gap:
                    break
                if last.channel_id == post.channel_id and terms & set(thread.terms):
                    target = thread
                    break
        if target is None:
            target = Thread(thread_id="t" + hashlib.sha256(post.post_id.encode()).hexdigest()[:15])
            threads.append(target)
        target.posts.append(post)
        target.terms.update(terms)
        by_message[(post.channel_id, post.message_id)] = target
    return threads


def partition(threads: Iterable[Thread]) -> dict[str, str]:
    """Post id → thread id."""
    return {p.post_id: t.thread_id for t in threads for p in t.posts}


Method = Callable[[Sequence[Post]], dict[str, str]]
METHODS: Final[dict[str, Method]] = {
    "singletons": singletons,
    "time_chain_2min": time_chain,
    "before": lambda posts: partition(legacy_threads(posts)),
    "after": lambda posts: partition(build_threads(posts)),
}


_DEFAULT: Final = ThreadParams()
#: One field changed at a time from the defaults (scored on the tuned-on samples only).
TUNING: Final[dict[str, ThreadParams]] = {
    "default": _DEFAULT,
    "gap 5 min": replace(_DEFAULT, gap=timedelta(minutes=5)),
    "gap 20 min": replace(_DEFAULT, gap=timedelta(minutes=20)),
    "address window 15 min": replace(_DEFAULT, address_window=timedelta(minutes=15)),
    "address window 24 h": replace(_DEFAULT, address_window=timedelta(hours=24)),
    "min shared stems 1": replace(_DEFAULT, min_shared=1),
    "min shared stems 3": replace(_DEFAULT, min_shared=3),
    "common share 5 %": replace(_DEFAULT, common_share=0.05),
    "no common-stem filter": replace(_DEFAULT, common_share=1e9),
}


# --- metrics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """What the pooled figures of one sample need."""

    n: int
    vi_bits_x_n: float
    overlap: int
    matched: int
    gold_convs: int
    auto_convs: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.n + other.n,
            self.vi_bits_x_n + other.vi_bits_x_n,
            self.overlap + other.overlap,
            self.matched + other.matched,
            self.gold_convs + other.gold_convs,
            self.auto_convs + other.auto_convs,
        )


def _clusters(labels: Mapping[str, str], keep: Iterable[str]) -> list[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for item in keep:
        groups[labels[item]].add(item)
    return [frozenset(g) for g in groups.values()]


def score(gold: Mapping[str, str], auto: Mapping[str, str]) -> Counts:
    """The counts of one sample: ``gold`` and ``auto`` map message → thread; every message of
    ``gold`` is scored and must be in ``auto``."""
    keys = sorted(gold)
    golds, autos = _clusters(gold, keys), _clusters(auto, keys)
    n = len(keys)
    table: Counter[tuple[int, int]] = Counter()
    gold_index = {m: i for i, c in enumerate(golds) for m in c}
    auto_index = {m: j for j, c in enumerate(autos) for m in c}
    for m in keys:
        table[gold_index[m], auto_index[m]] += 1
    # VI = H(gold | auto) + H(auto | gold), in bits.
    vi = 0.0
    for (i, j), k in table.items():
        vi -= k / n * (math.log2(k / len(autos[j])) + math.log2(k / len(golds[i])))
    multi_gold = {c for c in golds if len(c) > 1}
    multi_auto = {c for c in autos if len(c) > 1}
    return Counts(
        n=n,
        vi_bits_x_n=vi * n,
        overlap=one_to_one(table),
        matched=len(multi_gold & multi_auto),
        gold_convs=len(multi_gold),
        auto_convs=len(multi_auto),
    )


def one_to_one(table: Mapping[tuple[int, int], int]) -> int:
    """The largest total overlap of a one-to-one pairing of gold and predicted threads
    (``table[gold, auto]`` = shared messages), solved per connected block of the table."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in table:
        parent[find(("g", i))] = find(("a", j))
    blocks: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for i, j in table:
        blocks[find(("g", i))].append((i, j))
    total = 0
    for cells in blocks.values():
        rows = sorted({i for i, _ in cells})
        cols = sorted({j for _, j in cells})
        if len(rows) == 1 or len(cols) == 1:
            total += max(table[c] for c in cells)
            continue
        weights = [[table.get((i, j), 0) for j in cols] for i in rows]
        total += _max_assignment(weights)
    return total


def _max_assignment(weights: list[list[int]]) -> int:
    """Largest sum of a one-to-one assignment (Hungarian algorithm, e-maxx form)."""
    if len(weights) > len(weights[0]):
        weights = [list(col) for col in zip(*weights, strict=True)]
    n, m = len(weights), len(weights[0])
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    match = [0] * (m + 1)  # column → row (1-based, 0 = free)
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        low = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = match[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = -weights[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < low[j]:
                        low[j], way[j] = cur, j0
                    if low[j] < delta:
                        delta, j1 = low[j], j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    low[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    return sum(weights[match[j] - 1][j - 1] for j in range(1, m + 1) if match[j])


def figures(counts: Counts) -> dict[str, float]:
    """Pooled figures of some samples' counts."""
    p = counts.matched / counts.auto_convs if counts.auto_convs else 0.0
    r = counts.matched / counts.gold_convs if counts.gold_convs else 0.0
    vi = counts.vi_bits_x_n / counts.n
    return {
        "messages": counts.n,
        "one_to_one": round(counts.overlap / counts.n, 4),
        "exact_p": round(p, 4),
        "exact_r": round(r, 4),
        "exact_f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
        "vi_bits": round(vi, 4),
        "one_minus_scaled_vi": round(1 - vi / math.log2(counts.n), 4),
        "gold_conversations": counts.gold_convs,
        "predicted_threads": counts.auto_convs,
    }


# --- the run ---------------------------------------------------------------------------


def run(samples: Sequence[Sample] | None = None) -> dict[str, Any]:
    """Every method on every sample; figures per group, the 4–24 h subset and overall; the
    tuning variants on the tuned-on samples."""
    samples = samples if samples is not None else load_samples()
    per_sample: dict[str, dict[str, Counts]] = {}
    for sample in samples:
        per_sample[sample.sample_id] = {
            name: score(sample.gold, method(sample.posts)) for name, method in METHODS.items()
        }
    subsets: dict[str, list[str]] = {
        g: [s.sample_id for s in samples if s.group == g] for g in GROUPS
    }
    subsets["tuned_on"] = [s.sample_id for s in samples if s.group in TUNED_ON]
    subsets["held_out"] = [s.sample_id for s in samples if s.group in HELD_OUT]
    subsets["4-24h_windows"] = [s.sample_id for s in samples if s.sample_id in LONG_WINDOWS]
    subsets["overall"] = [s.sample_id for s in samples]
    table: dict[str, dict[str, dict[str, float]]] = {}
    for subset, ids in subsets.items():
        if ids:
            table[subset] = {
                name: figures(_sum(per_sample[i][name] for i in ids)) for name in METHODS
            }
    dev = [s for s in samples if s.group in TUNED_ON]
    tuning = (
        {
            label: figures(
                _sum(score(s.gold, partition(build_threads(s.posts, params))) for s in dev)
            )
            for label, params in TUNING.items()
        }
        if dev
        else {}
    )
    return {
        "dataset": "ubuntu-irc-disentangle (Kummerfeld et al. 2019; Gouravajhala et al. 2023)",
        "tuned_on": list(TUNED_ON),
        "held_out": list(HELD_OUT),
        "context_hours": CONTEXT.total_seconds() / 3600,
        "params": {
            "gap_min": _DEFAULT.gap.total_seconds() / 60,
            "address_window_min": _DEFAULT.address_window.total_seconds() / 60,
            "min_shared": _DEFAULT.min_shared,
            "common_share": _DEFAULT.common_share,
        },
        "methods": {
            "singletons": "baseline: every message its own thread",
            "time_chain_2min": "baseline: join the previous message's thread when ≤ 2 min",
            "before": "build_threads before group-chat cues (reply links, ≤ 10 min + shared stem)",
            "after": "build_threads now (reply, address, author continuity, rare shared stems)",
        },
        "samples": len(samples),
        "groups": table,
        "tuning_on_tuned_on_samples": tuning,
        "per_sample_one_to_one": {
            sid: {name: figures(c)["one_to_one"] for name, c in by_method.items()}
            for sid, by_method in per_sample.items()
        },
    }


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts(0, 0.0, 0, 0, 0, 0)
    for c in counts:
        total = total + c
    return total


def _row(label: str, name: str, f: Mapping[str, float]) -> str:
    return (
        f"  {label:<15}{name:<22}{f['messages']:>6}{f['one_to_one']:>7.3f}"
        f"{f['exact_p']:>7.3f}{f['exact_r']:>7.3f}{f['exact_f1']:>7.3f}"
        f"{f['vi_bits']:>7.3f}{f['one_minus_scaled_vi']:>9.3f}"
        f"{f['gold_conversations']:>6}{f['predicted_threads']:>6}"
    )


def print_figures(result: Mapping[str, Any]) -> None:
    """The tables: every method per group of samples, then the tuning variants."""
    header = (
        f"  {'samples':<15}{'method':<22}{'msgs':>6}{'1-1':>7}{'P':>7}{'R':>7}{'F1':>7}"
        f"{'VI':>7}{'1-VI/lgn':>9}{'gold':>6}{'pred':>6}"
    )
    print(
        "\ngroup-chat threads vs human conversations (ubuntu-irc-disentangle, annotated lines;"
        f" tuned on {' + '.join(result['tuned_on'])}, held out {' + '.join(result['held_out'])})"
    )
    print(header)
    for subset, by_method in result["groups"].items():
        for name, f in by_method.items():
            print(_row(subset, name, f))
    print("\nbuild_threads tuning, one parameter changed at a time (tuned-on samples only)")
    print(header)
    for label, f in result["tuning_on_tuned_on_samples"].items():
        print(_row("tuned_on", label, f))


def dated(result: Mapping[str, Any]) -> dict[str, Any]:
    """The report's ``group_threads`` section: the figures and when they were measured."""
    return {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **result}


def write_into_report(result: Mapping[str, Any], path: Path = REPORT) -> Path:
    """Set the ``group_threads`` key of the digest report, keeping its other keys."""
    doc: dict[str, Any] = {}
    if path.exists():
        doc = json.loads(path.read_text(encoding="utf-8"))
    doc[KEY] = dated(result)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main() -> None:
    result = run()
    print_figures(result)
    path = write_into_report(result)
    print(f"\nwritten to {path} (key {KEY!r})")


if __name__ == "__main__":
    main()
