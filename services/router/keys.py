"""API key administration: ``python -m services.router.keys``.

- ``create --tenant T --user U [--name N]``: prints the new key once (only its SHA-256 is
  stored), then its id on stderr;
- ``list [--tenant T]``: id, tenant, user, name, created, revoked;
- ``revoke KEY_ID``: the key stops working within ``key_cache_ttl_s`` (5 s by default).

Connects to Postgres with the router's settings (``TGI_ROUTER_POSTGRES_DSN`` or
``TGI_POSTGRES_DSN``, or ``--dsn``) and applies the router's migrations first, so it works
before the router ever ran. Exit status: 0 done, 1 refused (unknown key id), 2 bad
arguments or configuration, 3 Postgres unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from contracts.fields import TENANT_PATTERN
from servicekit.errors import ConfigError
from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.router.adapters.pg import UNAVAILABLE
from services.router.adapters.pg_keys import PostgresKeys
from services.router.auth.keys import generate
from services.router.errors import StoreUnavailable
from services.router.settings import RouterSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    return asyncio.run(amain(argv, out=out))


async def amain(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """:func:`main` for callers that already run an event loop."""
    args = _parser().parse_args(argv)
    stdout = out or sys.stdout
    try:
        dsn = args.dsn or str(load_settings(RouterSettings).postgres_dsn)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return await _run(args, dsn, stdout)
    except (StoreUnavailable, *UNAVAILABLE) as exc:
        print(f"error: postgres is unreachable: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3


async def _run(args: argparse.Namespace, dsn: str, out: TextIO) -> int:
    db = PostgresResource(dsn, schema="router", migrations=MIGRATIONS, max_size=2)
    await db.start()
    store = PostgresKeys(db)
    try:
        if args.command == "create":
            new = generate()
            stored = await store.create(
                new.key_id, new.digest, tenant_id=args.tenant, user_id=args.user, name=args.name
            )
            print(new.key, file=out)
            print(
                f"created key {stored.key_id} for tenant {stored.tenant_id}, user "
                f"{stored.user_id}; it is shown only once",
                file=sys.stderr,
            )
            return 0
        if args.command == "list":
            for k in await store.list(args.tenant):
                revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-"
                print(
                    f"{k.key_id}\t{k.tenant_id}\t{k.user_id}\t{k.name or '-'}\t"
                    f"{k.created_at.isoformat(timespec='seconds')}\t{revoked}",
                    file=out,
                )
            return 0
        if await store.revoke(args.key_id, datetime.now(UTC)):
            print(f"revoked {args.key_id}", file=out)
            return 0
        print(f"error: no key {args.key_id!r}", file=sys.stderr)
        return 1
    finally:
        await db.close()


def _tenant(value: str) -> str:
    if not re.match(TENANT_PATTERN, value):
        raise argparse.ArgumentTypeError("1-64 of A-Z a-z 0-9 _ . - starting with a letter/digit")
    return value


def _user(value: str) -> str:
    if not re.match(r"^\S{1,128}$", value):
        raise argparse.ArgumentTypeError("1-128 characters, no whitespace")
    return value


def _name(value: str) -> str:
    if len(value) > 200:
        raise argparse.ArgumentTypeError("at most 200 characters")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.router.keys", description=__doc__)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--dsn", help="Postgres DSN (default: the router's settings)")
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--tenant", required=True, type=_tenant)
    create.add_argument("--user", required=True, type=_user)
    create.add_argument(
        "--name", default="", type=_name, help="a label, e.g. the bot using the key"
    )
    ls = sub.add_parser("list", help="list keys (never the keys themselves)")
    ls.add_argument("--tenant", type=_tenant)
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
