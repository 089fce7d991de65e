"""Cleaning of Telegram post text: markdown, links, emoji and channel footers out.

The footer patterns were learnt from the 22k posts of ``tg-ru-news-channels``: the last lines
of a post are dropped while they are calls to action ("Подписаться", "Прислать новость",
"Читать нас без VPN"), bare links, lines whose only text is a link label, runs of hashtags or
@mentions, ad disclaimers (ИНН, erid) or "запрещена в РФ" notes. The first line that is none
of these stops the scan, so a footer-like phrase inside the body is kept.
"""

from __future__ import annotations

import re
from typing import Final

_INVISIBLE: Final = re.compile("[\u00ad\u200b\u200c\u200e\u200f\u2060\ufeff]")
_SPACES: Final = re.compile(r"[^\S\n]+")
_LINK: Final = re.compile(r"\[([^\[\]]*)\]\(((?:[^()\s]|\([^()\s]*\))*)\)")
_URL: Final = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:[a-z0-9-]+\.)+(?:ru|com|ly|me|io|org|net|in|cc|su|tv|рф)/\S*",
    re.IGNORECASE,
)
_CODE_FENCE: Final = re.compile(r"```[a-zA-Z0-9_+-]*\n?")
_INLINE_CODE: Final = re.compile(r"`([^`\n]*)`")
_MARKERS: Final = re.compile(r"\*\*|__|~~|\|\||```")
_EMOJI: Final = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, supplemental
    "\u2600-\u27bf"  # miscellaneous symbols and dingbats (❗ ❤ ✅ ➡)
    "\u2b00-\u2bff"  # arrows and stars (⬆ ⭐)
    "\u2190-\u21ff\u2300-\u23ff\u25a0-\u25ff"  # arrows, technical (⏰), shapes (▶ ●)
    "\u2122\u2139\u3030\u303d\u3297\u3299\u00a9\u00ae"
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, joiner, keycap
    "\U000e0020-\U000e007f"  # tag characters of subdivision flags
    "]+"
)
_TAGS_ONLY: Final = re.compile(r"(?:[#@][^\s#@]+[\s,.|•·-]*)+")
_TRAILING_TAGS: Final = re.compile(r"(?:(?:^|\s+)[#@][^\W_][\w.]*)+\s*$")
_HASH: Final = re.compile(r"(?<![\w#])#(?=\w)")
_CALL_TO_ACTION: Final = re.compile(
    r"подпис(?:аться|ывайся|ывайтесь|ка на)|подпиш(?:ись|итесь)|прислать новость"
    r"|прислали через бота|предложить новость|(?:читать|доступен|можно).{0,30}без vpn"
    r"|зеркало|отдай свой буст|email-рассылк|\bинн\b|\berid\b|^реклама\b"
    r"|^\*+ ?(?:организаци|признан|деятельность)|^(?:фото|видео|photo|источник)\s?:",
    re.IGNORECASE,
)
_LINK_VERB: Final = re.compile(
    r"^(?:читать|подробнее|смотреть|слушать|источник|ссылка|скачать|оригинал|статья|видео"
    r"|регистрация|зарегистрироваться|read|more|source|watch|listen|link|subscribe|github)",
    re.IGNORECASE,
)
_MAX_FOOTER_CHARS: Final = 160
_EDGE_PUNCTUATION: Final = " -—–|•·:.,!"


def clean(text: str) -> str:
    """The readable text of a post: no markdown, links, emoji or trailing channel footer.

    Link labels are kept (``[label](url)`` becomes ``label``), bare URLs dropped, hashtag
    signs inside the body dropped (``#ии`` becomes ``ии``), spaces collapsed, empty lines
    removed; paragraphs stay on separate lines. Returns ``""`` when nothing readable is left.
    """
    if not text:
        return ""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _LINK.sub(lambda m: f"[{m[1].replace(chr(10), ' ')}]({m[2]})", text)
    body = "\n".join(_without_footer(text.split("\n")))
    body = _CODE_FENCE.sub("", body)
    body = _INLINE_CODE.sub(r"\1", body)
    body = _LINK.sub(r"\1", body)
    body = _MARKERS.sub("", body)
    body = _URL.sub(" ", body)
    body = _EMOJI.sub(" ", body)
    body = _TRAILING_TAGS.sub("", body)
    body = _HASH.sub("", body)
    return _collapse(body)


def _without_footer(lines: list[str]) -> list[str]:
    """``lines`` without the trailing footer lines (and the intro line they leave dangling)."""
    end = len(lines)
    removed = False
    while end:
        last, first = lines[end - 1], end == 1
        if last.strip():
            if not _is_footer(last, first) and not (removed and not first and _is_dangling(last)):
                break
            removed = True
        end -= 1
    return lines[:end]


def _collapse(text: str) -> str:
    out = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if line and any(c.isalnum() for c in line):
            out.append(line)
    return "\n".join(out)


def _is_footer(line: str, first: bool) -> bool:
    """Whether a (raw, markdown) last line is a channel footer rather than post content.

    The first line of a post is only dropped when it has no text of its own, or is nothing
    but a call-to-action link: a one-line post that mentions "подписать" is content.
    """
    outside = _LINK.sub(" ", line)
    has_link = outside != line or _URL.search(line) is not None
    spaced = _plain(line)
    plain = spaced.strip(_EDGE_PUNCTUATION)
    if not any(c.isalnum() for c in plain):
        return True
    if _TAGS_ONLY.fullmatch(plain):
        return True
    words = plain.split()
    just_links = has_link and not any(c.isalpha() for c in _plain(outside)) and len(words) <= 6
    call_to_action = len(plain) <= _MAX_FOOTER_CHARS and _CALL_TO_ACTION.search(plain) is not None
    if first:
        return just_links and call_to_action
    if call_to_action or just_links:
        return True
    if not has_link:
        return False
    return len(words) <= 5 and (_LINK_VERB.match(plain) is not None or spaced.endswith(":"))


def _is_dangling(line: str) -> bool:
    """A short line announcing what followed it ("Мы в других соцсетях:"), once that went."""
    plain = _plain(line)
    return len(plain.split()) <= 8 and plain.endswith((":", "–", "—"))


def _plain(line: str) -> str:
    line = _LINK.sub(r"\1", line)
    line = _URL.sub(" ", line)
    line = _MARKERS.sub("", line)
    line = _EMOJI.sub(" ", line)
    return _SPACES.sub(" ", line).strip()
