"""``python -m services.dlq``: run the dlq service."""

from servicekit.runner import run
from services.dlq.app import build_app
from services.dlq.settings import DlqSettings

if __name__ == "__main__":
    run(DlqSettings, build_app)
