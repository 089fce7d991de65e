"""Print the pinned requirements of one extra of pyproject.toml, self-references resolved.

``python extra_requirements.py pyproject.toml router`` prints one requirement a line: the
extra's own pins plus those of every ``tgint[...]`` extra it names. The Dockerfile installs
them (with ``-c requirements.lock``) and then the project's code without its full dependency
list, so an image holds only what its service imports. Standard library only: it runs in the
bare base image before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_SELF = re.compile(r"^tgint\[([a-z0-9_,-]+)\]$")


def requirements(pyproject: Path, extra: str) -> list[str]:
    """The extra's requirements in order, without duplicates; raises ``KeyError`` for an
    unknown extra (or an unknown one it refers to)."""
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    seen: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"extras refer to each other in a cycle: {' -> '.join(path)}")
        for req in extras[name]:
            match = _SELF.match(req.replace(" ", ""))
            if match:
                for inner in match.group(1).split(","):
                    visit(inner, (*path, name))
            elif req not in seen:
                seen.append(req)

    visit(extra, ())
    return seen


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: extra_requirements.py PYPROJECT EXTRA")
    print("\n".join(requirements(Path(sys.argv[1]), sys.argv[2])))
