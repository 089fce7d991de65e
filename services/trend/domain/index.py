"""Unit centroids of the active stories in one matrix, for one matrix-vector product per post."""

from __future__ import annotations

import numpy as np

from services.trend.domain.model import Vector


class CentroidIndex:
    """Rows of unit vectors keyed by story id; removal swaps the last row in (O(1))."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._matrix = np.zeros((64, dim), dtype=np.float32)
        self._ids: list[str] = []
        self._row: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._row

    def put(self, story_id: str, vector: Vector) -> None:
        """Insert or replace the row of ``story_id``."""
        row = self._row.get(story_id)
        if row is None:
            row = len(self._ids)
            if row == len(self._matrix):
                grown = np.zeros((2 * row, self.dim), dtype=np.float32)
                grown[:row] = self._matrix
                self._matrix = grown
            self._ids.append(story_id)
            self._row[story_id] = row
        self._matrix[row] = vector

    def remove(self, story_id: str) -> None:
        """Drop ``story_id`` (no-op if absent)."""
        row = self._row.pop(story_id, None)
        if row is None:
            return
        last = len(self._ids) - 1
        if row != last:
            moved = self._ids[last]
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._row[moved] = row
        self._ids.pop()

    def above(self, vector: Vector, floor: float) -> list[tuple[str, float]]:
        """``(story_id, cosine)`` for the rows whose cosine is at least ``floor``."""
        if not self._ids:
            return []
        sims = self._matrix[: len(self._ids)] @ vector
        rows = np.flatnonzero(sims >= floor)
        return [(self._ids[r], float(sims[r])) for r in rows]

    def cosines(self, vector: Vector) -> list[tuple[str, float]]:
        """``(story_id, cosine)`` for every row."""
        if not self._ids:
            return []
        sims = self._matrix[: len(self._ids)] @ vector
        return list(zip(self._ids, (float(s) for s in sims), strict=True))
