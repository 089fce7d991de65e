"""Operator CLI for the DLQ, talking to its REST API.

``python -m services.dlq.cli [--url URL] [--operator NAME] [--json] COMMAND ...``

- ``list [--status S]... [--topic T]... [--error-class C] [--service S] [--group G]
  [--tenant T] [--since ISO] [--until ISO] [--limit N] [--cursor ID]``
- ``show ID``: the entry, its headers and its payload (pretty JSON, text or base64)
- ``replay|park|purge ID... [--reason R]``, or with filters instead of ids
  (``replay --status failed_permanently --topic posts.ingested.v1 --limit 100``)
- ``stats``

The URL defaults to ``$TGI_DLQ_URL`` or ``http://127.0.0.1:8085``. The API wants a bearer
token: ``--token-file PATH``, else ``$TGI_DLQ_TOKEN`` (an operator's token, one of the
service's ``TGI_DLQ_API_TOKENS``), else ``$TGI_INTERNAL_TOKEN`` (``make up`` keeps the local
one in ``.state/internal-token``). Tokens are not taken on the command line, where ``ps``
would show them. Exit status: 0 done, 1 the
API refused (the message says why), 2 bad arguments, 3 the API could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

import httpx

from servicekit.auth import bearer_headers

DEFAULT_URL = "http://127.0.0.1:8085"
STATUSES = ("pending", "retrying", "resolved", "parked", "failed_permanently", "purged")


class ApiError(Exception):
    """The API answered with an error status."""


def main(argv: list[str] | None = None, *, client: httpx.Client | None = None) -> int:
    """Run one command; ``client`` replaces the HTTP client (tests)."""
    args = _parser().parse_args(argv)
    out: TextIO = sys.stdout
    http = client or httpx.Client(base_url=args.url, timeout=30.0)
    http.headers["X-Operator"] = args.operator
    try:
        http.headers.update(bearer_headers(_token(args.token_file)))
    except OSError as exc:
        print(f"error: cannot read the token file: {exc}", file=sys.stderr)
        return 2
    try:
        result = _run(args, http)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the DLQ API at {args.url}: {exc}", file=sys.stderr)
        return 3
    finally:
        if client is None:
            http.close()
    if args.json:
        json.dump(result, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _print(args.command, result, out)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.dlq.cli", description=__doc__.split("\n")[0]
    )
    p.add_argument("--url", default=os.environ.get("TGI_DLQ_URL", DEFAULT_URL))
    p.add_argument("--operator", default=os.environ.get("USER", "anonymous") or "anonymous")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.add_argument("--token-file", help="a file holding the API's bearer token")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list entries, newest first")
    _filters(ls)
    ls.add_argument("--cursor", help="next_cursor of the previous page")
    show = sub.add_parser("show", help="inspect one entry")
    show.add_argument("id")
    for action in ("replay", "park", "purge"):
        a = sub.add_parser(action, help=f"{action} entries by id or by filter")
        a.add_argument("ids", nargs="*")
        a.add_argument("--reason", default="")
        _filters(a)
    sub.add_parser("stats", help="entries by topic and status")
    return p


def _token(token_file: str | None) -> str | None:
    if token_file:
        with open(token_file, encoding="utf-8") as f:
            return f.read().strip() or None
    return os.environ.get("TGI_DLQ_TOKEN") or os.environ.get("TGI_INTERNAL_TOKEN") or None


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="append", default=[], choices=STATUSES)
    p.add_argument("--topic", action="append", default=[])
    p.add_argument("--error-class")
    p.add_argument("--service")
    p.add_argument("--group", dest="consumer_group")
    p.add_argument("--tenant")
    p.add_argument("--since", help="first failure at or after (ISO 8601)")
    p.add_argument("--until", help="first failure before (ISO 8601)")
    p.add_argument("--limit", type=int)


def _filter_values(args: argparse.Namespace) -> dict[str, Any]:
    names = ("status", "topic", "error_class", "service", "consumer_group", "tenant")
    values = {n: getattr(args, n) for n in (*names, "since", "until")}
    return {k: v for k, v in values.items() if v not in (None, [])}


def _run(args: argparse.Namespace, http: httpx.Client) -> Any:
    if args.command == "list":
        params = _filter_values(args)
        if args.limit is not None:
            params["limit"] = args.limit
        if args.cursor:
            params["cursor"] = args.cursor
        return _call(http, "GET", "/v1/entries", params=params)
    if args.command == "show":
        return _call(http, "GET", f"/v1/entries/{args.id}")
    if args.command == "stats":
        return _call(http, "GET", "/v1/stats")
    action, ids, filters = args.command, args.ids, _filter_values(args)
    if ids and (filters or args.limit is not None):
        raise ApiError("give ids or filters, not both")
    if not ids and not filters:
        raise ApiError(f"{action} what? give entry ids, or filters (--status, --topic, ...)")
    if len(ids) == 1:
        return _call(http, "POST", f"/v1/entries/{ids[0]}/{action}", json={"reason": args.reason})
    body: dict[str, Any] = {"reason": args.reason}
    if ids:
        body["ids"] = ids
    else:
        body["filter"] = filters
        if args.limit is not None:
            body["limit"] = args.limit
    return _call(http, "POST", f"/v1/actions/{action}", json=body)


def _call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    response = http.request(method, path, **kwargs)
    if response.status_code >= 400:
        raise ApiError(f"{response.status_code}: {_detail(response)}")
    return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:500]
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
        )
    return str(detail)


def _print(command: str, result: Any, out: TextIO) -> None:
    if command == "list":
        rows = result["items"]
        out.write(f"{'id':<36}  {'status':<18} {'topic':<22} {'try':>5}  {'error':<28} failed\n")
        for e in rows:
            tries = f"{e['attempt']}/{e['max_attempts']}"
            err = e["error_class"].rsplit(".", 1)[-1][:28]
            out.write(
                f"{e['id']:<36}  {e['status']:<18} {e['topic'][:22]:<22} {tries:>5}  "
                f"{err:<28} {e['last_failed_at'][:19]}\n"
            )
        out.write(f"{len(rows)} entries")
        out.write(
            f"; next page: --cursor {result['next_cursor']}\n" if result["next_cursor"] else "\n"
        )
    elif command == "show":
        for name in ("id", "status", "status_reason", "original_topic", "partition", "offset"):
            out.write(f"{name:<16}{result[name]}\n")
        for name in ("consumer_group", "service", "tenant_id", "attempt", "max_attempts"):
            out.write(f"{name:<16}{result[name]}\n")
        for name in ("error_class", "error_message", "first_failed_at", "next_retry_at"):
            out.write(f"{name:<16}{result[name]}\n")
        out.write(f"{'key':<16}{result['key']['pretty']}\n")
        out.write("headers\n")
        for k, v in sorted(result["headers"].items()):
            out.write(f"  {k}: {v}\n")
        payload = result["payload"]
        out.write(
            f"payload ({payload['encoding']}, {payload['size']} bytes)\n{payload['pretty']}\n"
        )
    elif command == "stats":
        for topic, counts in result["counts"].items():
            out.write(f"{topic}: " + ", ".join(f"{s}={n}" for s, n in counts.items()) + "\n")
        out.write(f"oldest open entry failed at: {result['oldest_open_failed_at']}\n")
    else:
        out.write(
            f"{result['action']}: {result['changed_count']} changed, "
            f"{len(result['skipped'])} skipped; episode {result['run_id']}"
            + ("" if result["episode_recorded"] else " (NOT recorded, see the service log)")
            + "\n"
        )
        for s in result["skipped"]:
            out.write(f"  skipped {s['id']}: {s['reason']}\n")


if __name__ == "__main__":
    raise SystemExit(main())
