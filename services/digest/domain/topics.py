"""Topic of a story: a rule-based classifier over stem prefixes (Russian and English).

The topic is the one whose cue stems cover most of the story's centroid weight; none at all
gives ``other``. Labels are written in the digest's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

CUES: Final[dict[str, tuple[str, ...]]] = {
    "politics": (
        "президент",
        "выбор",
        "парламент",
        "правительств",
        "министр",
        "кремл",
        "песков",
        "путин",
        "трамп",
        "байден",
        "зеленск",
        "санкц",
        "нато",
        "войн",
        "военн",
        "армия",
        "украин",
        "переговор",
        "депутат",
        "госдум",
        "посол",
        "президент",
        "president",
        "election",
        "parliament",
        "minister",
        "war",
        "militar",
        "sanction",
        "govern",
    ),
    "economy": (
        "рубл",
        "доллар",
        "евро",
        "курс",
        "банк",
        "цен",
        "инфляц",
        "нефт",
        "газ",
        "биржев",
        "акци",
        "налог",
        "бюджет",
        "экономик",
        "бизнес",
        "компан",
        "ставк",
        "кредит",
        "market",
        "bank",
        "price",
        "econom",
        "stock",
        "oil",
        "tax",
    ),
    "technology": (
        "интернет",
        "приложен",
        "смартфон",
        "iphone",
        "apple",
        "google",
        "яндекс",
        "нейросет",
        "искусствен",
        "программ",
        "разработчик",
        "python",
        "код",
        "кабел",
        "telegram",
        "телеграм",
        "сервис",
        "технолог",
        "software",
        "developer",
        "ai",
        "comput",
    ),
    "science": (
        "учен",
        "исследован",
        "астероид",
        "космос",
        "космическ",
        "планет",
        "наса",
        "nasa",
        "открыт",
        "биолог",
        "физик",
        "медицин",
        "вакцин",
        "science",
        "research",
        "space",
    ),
    "incidents": (
        "дтп",
        "авари",
        "пожар",
        "погиб",
        "пострада",
        "задерж",
        "суд",
        "полиц",
        "убийств",
        "взрыв",
        "катастроф",
        "спасател",
        "мчс",
        "утонул",
        "провалил",
        "crash",
        "fire",
        "police",
        "court",
        "kill",
        "arrest",
    ),
    "weather": (
        "погод",
        "снег",
        "дожд",
        "мороз",
        "гололед",
        "температур",
        "синоптик",
        "ветер",
        "weather",
        "snow",
        "rain",
        "storm",
    ),
    "sport": ("матч", "футбол", "хокке", "чемпионат", "олимпи", "спортсмен", "sport", "match"),
    "culture": ("фильм", "кино", "сериал", "музык", "концерт", "театр", "книг", "film", "music"),
}
LABELS: Final[dict[str, dict[str, str]]] = {
    "ru": {
        "politics": "Политика",
        "economy": "Экономика",
        "technology": "Технологии",
        "science": "Наука",
        "incidents": "Происшествия",
        "weather": "Погода",
        "sport": "Спорт",
        "culture": "Культура",
        "other": "Разное",
    },
    "en": {
        "politics": "Politics",
        "economy": "Economy",
        "technology": "Technology",
        "science": "Science",
        "incidents": "Incidents",
        "weather": "Weather",
        "sport": "Sport",
        "culture": "Culture",
        "other": "Other",
    },
}
ORDER: Final = (*CUES, "other")


def topic_of(terms: Mapping[str, float]) -> str:
    """The topic key (``politics``…, ``other``) of a story's term centroid."""
    best, best_weight = "other", 0.0
    for topic, cues in CUES.items():
        weight = sum(w for t, w in terms.items() if not t.startswith("e:") and t.startswith(cues))
        if weight > best_weight:
            best, best_weight = topic, weight
    return best


def label(topic: str, language: str) -> str:
    """The topic's label in ``language`` (``ru`` or English)."""
    return LABELS["ru" if language == "ru" else "en"].get(topic, topic)
