"""``python -m services.digest``: run the digest service."""

from servicekit.runner import run
from services.digest.app import build_app
from services.digest.settings import DigestSettings

if __name__ == "__main__":
    run(DigestSettings, build_app)
