"""``python -m contracts.compat [--against DIR_OR_GIT_REF] [--all]``.

Compares the schemas the live models generate with a baseline: the committed schemas by
default, the ``*.json`` files of a directory, or ``contracts/schemas/`` at a git ref (e.g.
``origin/main``). Checks every released topic (``--all``: every topic) with its registered
compatibility mode. A topic without a baseline schema is new and passes. Exit status: 0
compatible, 1 breaking changes (each printed), 2 bad arguments or unknown git ref.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from contracts.compat import check_compatible
from contracts.registry import REGISTRY
from contracts.schemas import SCHEMA_DIR, topic_schema

_PROJECT_ROOT = Path(__file__).resolve().parents[1]


class BaselineError(Exception):
    """The baseline named on the command line cannot be read."""


def load_baseline(against: str | None, topic: str) -> dict[str, Any] | None:
    """The baseline schema of ``topic``, or ``None`` if the baseline has none."""
    if against is None or Path(against).is_dir():
        path = (Path(against) if against else SCHEMA_DIR) / f"{topic}.json"
        text = path.read_text("utf-8") if path.is_file() else None
    else:
        text = _git_show(against, f"contracts/schemas/{topic}.json")
    if text is None:
        return None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _git_show(ref: str, path: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        raise BaselineError("git is not installed")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # Fixed argv, no shell: the ref only ever reaches git as one argument.
        return subprocess.run(  # noqa: S603
            [git, *args], cwd=_PROJECT_ROOT, capture_output=True, text=True, check=False
        )

    if run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise BaselineError(f"{ref!r} is neither a directory nor a git commit")
    shown = run("show", f"{ref}:./{path}")
    return shown.stdout if shown.returncode == 0 else None


def breaking_changes(against: str | None, *, include_unreleased: bool = False) -> list[str]:
    """Every breaking change of the live models against the baseline, prefixed by topic."""
    problems = []
    for topic, spec in REGISTRY.items():
        if not (spec.released or include_unreleased):
            continue
        old = load_baseline(against, topic)
        if old is not None:
            found = check_compatible(old, topic_schema(spec), spec.compatibility)
            problems += [f"{topic}: {problem}" for problem in found]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the check; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m contracts.compat", description=__doc__)
    parser.add_argument("--against", help="schema directory or git ref (default: committed)")
    parser.add_argument("--all", action="store_true", help="check unreleased topics too")
    args = parser.parse_args(argv)
    try:
        problems = breaking_changes(args.against, include_unreleased=args.all)
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} breaking change(s): a released version may only gain optional "
            "fields; put anything else in a new .v2 topic and model",
            file=sys.stderr,
        )
        return 1
    print("compatible")
    return 0
