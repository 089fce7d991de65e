"""``python -m contracts.schemas {export,check} [--dir DIR]``."""

import argparse
import sys
from pathlib import Path

from contracts.schemas import SCHEMA_DIR, check, export


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (1 when ``check`` finds a difference)."""
    parser = argparse.ArgumentParser(prog="python -m contracts.schemas", description=__doc__)
    parser.add_argument("command", choices=("export", "check"))
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema directory")
    args = parser.parse_args(argv)
    if args.command == "export":
        for path in export(args.dir):
            print(f"wrote {path}")
        return 0
    problems = check(args.dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run: python -m contracts.schemas export", file=sys.stderr)
        return 1
    print(f"{args.dir}: all schemas match the models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
