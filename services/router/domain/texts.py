"""Fixed replies of the gateway (help, unsupported, nothing found, status), Russian and
English."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from services.router.domain.model import Run, Window

HELP: Final = {
    "ru": (
        "Я отвечаю на вопросы по постам ваших Telegram-каналов и указываю источники "
        "(«что писали о ставках ЦБ за неделю?»), готовлю дайджесты каналов за 1, 7 или 30 "
        "дней («дайджест за неделю»), показываю тренды («что сейчас в трендах?») и "
        "рассказываю, что стало с вашими запросами («что с моим последним дайджестом?»)."
    ),
    "en": (
        "I answer questions about the posts of your Telegram channels with sources "
        '("what did they write about rates this week?"), write digests of channels over 1, '
        '7 or 30 days ("weekly digest"), report trends ("what is trending?") and tell you '
        'what became of your requests ("what happened to my last digest?").'
    ),
}
UNSUPPORTED: Final = {
    "ru": "Этого я не умею. " + HELP["ru"],
    "en": "I cannot do that. " + HELP["en"],
}
_NOTHING: Final = {
    "ru": "Не нашёл постов по этому запросу",
    "en": "I found no posts about that",
}
_STATUS_WORDS: Final = {
    "ru": {
        "accepted": "принят",
        "running": "выполняется",
        "completed": "готов",
        "failed": "не удался",
        "quality_low": "готов, но качество ниже порога",
    },
    "en": {
        "accepted": "accepted",
        "running": "in progress",
        "completed": "done",
        "failed": "failed",
        "quality_low": "done, but below the quality threshold",
    },
}
_KIND_WORDS: Final = {
    "ru": {"digest": "дайджест", "trend": "отчёт о трендах", "qa": "вопрос"},
    "en": {"digest": "digest", "trend": "trend report", "qa": "question"},
}


def lang(language: str | None) -> str:
    """``ru`` or ``en`` (the default for anything else)."""
    return "ru" if language == "ru" else "en"


def nothing_found(language: str | None, window: Window | None) -> str:
    """ "Nothing found", naming the period when the question had one."""
    text = _NOTHING[lang(language)]
    if window is not None and window.label:
        text += f" ({window.label})"
    return text + "."


def run_status(
    language: str | None, run: Run | None, episodes: Sequence[tuple[str, str, datetime]] | None
) -> str:
    """What became of the user's latest run; ``episodes`` are (kind, service, when) from
    episodic memory, or None when memory did not answer."""
    la = lang(language)
    if run is None:
        return (
            "У вас ещё не было дайджестов или отчётов о трендах."
            if la == "ru"
            else "You have no digests or trend reports yet."
        )
    kind = _KIND_WORDS[la].get(run.kind, run.kind)
    status = _STATUS_WORDS[la][run.status]
    when = f"{run.created_at:%Y-%m-%d %H:%M} UTC"
    if la == "ru":
        text = f"Ваш последний {kind} (запуск {run.run_id}, запрошен {when}): {status}."
    else:
        text = f"Your latest {kind} (run {run.run_id}, requested {when}): {status}."
    if run.error:
        text += f" {'Причина' if la == 'ru' else 'Reason'}: {run.error[:200]}."
    if episodes:
        steps = ", ".join(f"{k} ({s}, {t:%H:%M:%S})" for k, s, t in episodes[-6:])
        text += f" {'События' if la == 'ru' else 'Events'}: {steps}."
    return text
