"""``python -m services.digest``: run the digest service;
``python -m services.digest schedules …``: manage digest schedules (``schedules/cli.py``)."""

import sys

from servicekit.runner import run
from services.digest.app import build_app
from services.digest.settings import DigestSettings

if __name__ == "__main__":
    if sys.argv[1:2] == ["schedules"]:
        from services.digest.schedules.cli import main

        raise SystemExit(main(sys.argv[2:]))
    run(DigestSettings, build_app)
