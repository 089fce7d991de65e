"""``python -m services.trend``: run the trend service."""

from servicekit.runner import run
from services.trend.app import build_app
from services.trend.settings import TrendSettings

if __name__ == "__main__":
    run(TrendSettings, build_app)
