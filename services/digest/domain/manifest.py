"""The state manifest of a run: references only, at most ``MAX_BYTES`` encoded.

It records the request's hash, the plan, every step (status, attempts, timings, its
outputs as references: post ids, story ids, hashes, scores) and the budget used. It never
holds post text or digest text. When an update would make it larger than ``MAX_BYTES``,
it is compacted, largest reference lists first: a list is replaced by its count and its
SHA-256 (``{"n": 4210, "sha256": "…", "dropped": true}``), and ``compacted`` names it. A
step whose output was compacted is not resumed from: it runs again and its new output must
hash the same. If even the compacted manifest is too large, :class:`ManifestTooLarge` is
raised and the run fails (nothing past the cap is ever stored).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

MAX_BYTES: Final = 100 * 1024


class ManifestTooLarge(ValueError):
    """Even compacted, the manifest would pass ``MAX_BYTES``."""


def encode(manifest: dict[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON."""
    return json.dumps(manifest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def digest_of(values: list[str]) -> str:
    """SHA-256 of a list of references (order matters), hex."""
    return hashlib.sha256("\n".join(values).encode()).hexdigest()


def new_manifest(run_id: str, request_hash: str, plan: list[str], mode: str) -> dict[str, Any]:
    """An empty manifest for a run."""
    return {
        "version": 1,
        "run_id": run_id,
        "request_sha256": request_hash,
        "mode": mode,
        "plan": plan,
        "replans": [],
        "steps": {},
        "order": [],
        "budget": {"llm_calls": 0, "tokens": 0, "agent_steps": 0},
        "compacted": [],
        "resumed": 0,
    }


def _lists(node: Any, path: tuple[str, ...] = ()) -> list[tuple[int, tuple[str, ...]]]:
    out: list[tuple[int, tuple[str, ...]]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _lists(value, (*path, str(key)))
    elif isinstance(node, list) and node and all(isinstance(v, str) for v in node):
        out.append((len(encode({"x": node})), path))
    return out


def fit(manifest: dict[str, Any], limit: int = MAX_BYTES) -> bytes:
    """``manifest`` encoded, compacted in place if needed; raises :class:`ManifestTooLarge`."""
    data = encode(manifest)
    if len(data) <= limit:
        return data
    step_lists = [item for item in _lists(manifest.get("steps", {}), ("steps",))]
    for _, path in sorted(step_lists, reverse=True):
        parent: Any = manifest
        for key in path[:-1]:
            parent = parent[key]
        values = parent[path[-1]]
        parent[path[-1]] = {"n": len(values), "sha256": digest_of(values), "dropped": True}
        manifest["compacted"].append(".".join(path))
        step = manifest["steps"].get(path[1]) if len(path) > 1 else None
        if isinstance(step, dict):
            step["resumable"] = False
        data = encode(manifest)
        if len(data) <= limit:
            return data
    raise ManifestTooLarge(f"manifest needs {len(data)} bytes even compacted (cap {limit})")
