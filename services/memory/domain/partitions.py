"""Monthly partitions of ``memory.episodes`` and the retention plan over them.

Partition ``episodes_pYYYYMM`` holds ``[first instant of the month, first of the next)`` in
UTC. Retention drops every partition that ends at or before the cut-off (O(1) per month, no
row scan), deletes the rows before the cut-off in the one partition that straddles it, and
creates the partitions from the cut-off's month up to ``ahead`` months after now, so late
and early events land in a partition rather than in the default one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

PARENT: Final = "episodes"
DEFAULT_PARTITION: Final = "episodes_default"
_NAME: Final = re.compile(r"^episodes_p(\d{4})(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9998):
            raise ValueError(f"no such month {self.year}-{self.month}")

    @classmethod
    def of(cls, when: datetime) -> Month:
        """The month ``when`` (aware) falls in, in UTC."""
        utc = when.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def parse(cls, table: str) -> Month | None:
        """The month of a partition table name; None for any other table."""
        match = _NAME.match(table)
        if match is None:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        return cls(year, month) if 1 <= month <= 12 and year >= 1 else None

    def shift(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        """First instant of the month (UTC), the partition's inclusive lower bound."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month, the partition's exclusive upper bound."""
        return self.shift(1).start

    @property
    def table(self) -> str:
        """The partition's table name (in schema ``memory``)."""
        return f"{PARENT}_p{self.year:04d}{self.month:02d}"


@dataclass(frozen=True)
class RetentionPlan:
    """What one retention run does, decided from the clock and the existing partitions."""

    cutoff: datetime
    drop: list[Month]
    """Partitions wholly before the cut-off: dropped."""
    trim: list[str]
    """Tables whose rows before the cut-off are deleted in bounded batches, after ``create``:
    the partition that straddles the cut-off and the default partition."""
    create: list[Month]
    """Missing partitions from the cut-off's month to ``ahead`` months after now."""


def plan_retention(
    *, now: datetime, cutoff: datetime, existing: Iterable[Month], ahead: int
) -> RetentionPlan:
    """Decide drops, trims and creations. Pure; ``cutoff`` must not be after ``now``."""
    if cutoff > now:
        raise ValueError("the retention cut-off lies in the future")
    have = set(existing)
    drop = sorted(m for m in have if m.end <= cutoff)
    first = Month.of(cutoff)
    # Creation runs before trimming, so the straddling partition exists by then.
    trim = [first.table] if first.start < cutoff else []
    trim.append(DEFAULT_PARTITION)
    wanted: list[Month] = []
    month, last = first, Month.of(now).shift(ahead)
    while month <= last:
        wanted.append(month)
        month = month.shift(1)
    create = [m for m in wanted if m not in have]
    return RetentionPlan(cutoff=cutoff, drop=drop, trim=trim, create=create)
