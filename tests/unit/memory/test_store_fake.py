"""The episode-store behaviour suite against the hand-written fake (so the fake is honest)."""

from __future__ import annotations

import pytest

from tests.unit.memory.fakes import FakeEpisodes
from tests.unit.memory.store_behaviour import EpisodeStoreBehaviour

pytestmark = pytest.mark.unit


class TestFakeEpisodeStore(EpisodeStoreBehaviour):
    @pytest.fixture
    def store(self) -> FakeEpisodes:
        return FakeEpisodes()

    @pytest.fixture
    def tenant(self) -> str:
        return "acme"
