"""``python -m services.retrieval``: run the retrieval service."""

from servicekit.runner import run
from services.retrieval.app import build_app
from services.retrieval.settings import RetrievalSettings

if __name__ == "__main__":
    run(RetrievalSettings, build_app)
