"""``python -m services.memory``: run the memory service."""

from servicekit.runner import run
from services.memory.app import build_app
from services.memory.settings import MemorySettings

if __name__ == "__main__":
    run(MemorySettings, build_app)
