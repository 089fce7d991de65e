"""``python -m services.router``: run the router service."""

from servicekit.runner import run
from services.router.app import build_app
from services.router.settings import RouterSettings

if __name__ == "__main__":
    run(RouterSettings, build_app)
