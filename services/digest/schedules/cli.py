"""``python -m services.digest schedules COMMAND``: manage digest schedules in Postgres.

- ``add --tenant T --user U --name N --channels C1 C2 --window 7d --cadence 'daily 08:00'
  [--tz Europe/Moscow] [--kind channel|group] [--persona P] [--mode smart|fast]
  [--language ru] [--format markdown --format telegram_html] [--disabled]``: the window is
  ``1d``/``7d``/``30d`` (a channel digest) or ``4h``/``6h``/``12h``/``24h`` (a group digest;
  ``--kind`` follows from it when not given);
- ``list --tenant T [--user U]``;
- ``remove|enable|disable --tenant T ID``.

``--json`` prints the schedules as JSON. Reads ``TGI_DIGEST_POSTGRES_DSN`` (or
``TGI_POSTGRES_DSN``) like the service and applies its migrations. Input is checked before
anything is written. Exit status: 0 done, 1 refused (name taken, no such schedule), 2 bad
input, 3 configuration or Postgres unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any, TextIO

import asyncpg
from pydantic import ValidationError

from servicekit.clock import SystemClock
from servicekit.errors import ConfigError
from servicekit.logging import configure_logging
from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.digest.errors import ScheduleExists
from services.digest.schedules.manage import Schedules
from services.digest.schedules.model import Schedule, ScheduleSpec

WINDOWS = ("1d", "7d", "30d", "4h", "6h", "12h", "24h")
_WINDOW = re.compile(r"^(\d{1,3})([dh])$")


def main(argv: list[str] | None = None) -> int:
    """Run one command against the configured Postgres (only warnings logged, to stderr,
    so that stdout is the answer alone)."""
    configure_logging("WARNING")
    return asyncio.run(run_cli(sys.argv[1:] if argv is None else argv))


async def run_cli(
    argv: list[str],
    *,
    schedules: Schedules | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one command; ``schedules`` replaces the Postgres-backed one (tests)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    spec = None
    if args.command == "add":
        try:
            spec = _spec(args)
        except (ValidationError, ValueError) as exc:
            print(f"error: {explain(exc)}; nothing written", file=err)
            return 2
    if schedules is not None:
        return await _run(args, spec, schedules, out, err)
    return await _with_postgres(args, spec, out, err)


async def _with_postgres(
    args: argparse.Namespace, spec: ScheduleSpec | None, out: TextIO, err: TextIO
) -> int:
    # Imported here so that ``--help`` and bad input need neither settings nor the app.
    from services.digest.adapters.postgres_schedules import PostgresScheduleStore
    from services.digest.app import MIGRATIONS
    from services.digest.settings import DigestSettings

    try:
        settings = load_settings(DigestSettings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=err)
        return 3
    db = PostgresResource(
        str(settings.postgres_dsn), schema="digest", migrations=MIGRATIONS, max_size=2
    )
    try:
        await db.start()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        print(f"error: cannot reach Postgres: {exc!r}", file=err)
        return 3
    try:
        store = PostgresScheduleStore(db, deployment=settings.topic_prefix)
        return await _run(args, spec, Schedules(store, SystemClock()), out, err)
    finally:
        await db.close()


def explain(exc: ValidationError | ValueError) -> str:
    """One line per problem, each naming its field."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.digest schedules", description=__doc__.split("\n")[0]
    )
    p.add_argument("--json", action="store_true", help="print schedules as JSON")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a schedule")
    add.add_argument("--tenant", required=True)
    add.add_argument("--user", required=True)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--channels", required=True, nargs="+", help="channel or chat ids (spaces or commas)"
    )
    add.add_argument("--window", required=True, help=" | ".join(WINDOWS))
    add.add_argument("--cadence", required=True, help="'daily 08:00', 'weekly mon 08:00', …")
    add.add_argument("--tz", default="UTC", help="IANA time zone of the cadence")
    add.add_argument("--kind", choices=["channel", "group"])
    add.add_argument("--persona", help="persona id (default: the user's own)")
    add.add_argument("--mode", choices=["smart", "fast"], default="smart")
    add.add_argument("--language")
    add.add_argument(
        "--format", action="append", choices=["markdown", "telegram_html"], dest="formats"
    )
    add.add_argument("--disabled", action="store_true", help="add it disabled")
    ls = sub.add_parser("list", help="list a tenant's schedules")
    ls.add_argument("--tenant", required=True)
    ls.add_argument("--user")
    for name in ("remove", "enable", "disable"):
        one = sub.add_parser(name, help=f"{name} a schedule")
        one.add_argument("--tenant", required=True)
        one.add_argument("id")
    return p


def _spec(args: argparse.Namespace) -> ScheduleSpec:
    m = _WINDOW.match(args.window.strip().lower())
    if m is None or m.group(0) not in WINDOWS:
        raise ValueError(
            f"unknown window {args.window!r}: 1d, 7d or 30d for a channel digest, "
            "4h, 6h, 12h or 24h for a group digest"
        )
    size, unit = int(m.group(1)), m.group(2)
    values: dict[str, Any] = {
        "user_id": args.user,
        "name": args.name,
        "kind": args.kind or ("channel" if unit == "d" else "group"),
        "channels": [c.strip() for arg in args.channels for c in arg.split(",") if c.strip()],
        "period_days": size if unit == "d" else None,
        "window_hours": size if unit == "h" else None,
        "timezone": args.tz,
        "cadence": args.cadence,
        "persona_id": args.persona,
        "mode": args.mode,
        "language": args.language,
        "enabled": not args.disabled,
    }
    if args.formats:
        values["formats"] = args.formats
    return ScheduleSpec.model_validate(values)


async def _run(
    args: argparse.Namespace,
    spec: ScheduleSpec | None,
    schedules: Schedules,
    out: TextIO,
    err: TextIO,
) -> int:
    tenant = args.tenant
    found: list[Schedule]
    if args.command == "add" and spec is not None:
        try:
            found = [await schedules.add(tenant, spec)]
        except ScheduleExists as exc:
            print(f"error: {exc}", file=err)
            return 1
        except ValidationError as exc:
            print(f"error: {explain(exc)}; nothing written", file=err)
            return 2
    elif args.command == "list":
        found = await schedules.list(tenant, args.user)
    elif args.command == "remove":
        if not await schedules.remove(tenant, args.id):
            print(f"error: tenant {tenant!r} has no schedule {args.id!r}", file=err)
            return 1
        print(f"removed {args.id}", file=out)
        return 0
    else:
        one = await schedules.set_enabled(tenant, args.id, args.command == "enable")
        if one is None:
            print(f"error: tenant {tenant!r} has no schedule {args.id!r}", file=err)
            return 1
        found = [one]
    _print(found, out, as_json=args.json)
    return 0


def _print(found: list[Schedule], out: TextIO, *, as_json: bool) -> None:
    if as_json:
        json.dump([s.model_dump(mode="json") for s in found], out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    for s in found:
        window = f"{s.period_days}d" if s.kind == "channel" else f"{s.window_hours}h"
        state = "enabled" if s.enabled else "disabled"
        out.write(
            f"{s.schedule_id}  {s.user_id}/{s.name}  {s.kind} {window}  "
            f"{s.cadence} ({s.timezone})  next {s.next_due_at:%Y-%m-%d %H:%M}Z  {state}"
            f"  channels={','.join(s.channels)}\n"
        )
    out.write(f"{len(found)} schedule{'' if len(found) == 1 else 's'}\n")
