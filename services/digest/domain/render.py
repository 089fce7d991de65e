"""Markdown and Telegram HTML of a draft.

Telegram HTML uses only the tags Telegram accepts (``ALLOWED_TAGS``), every text escaped,
and fits one message (``TELEGRAM_LIMIT`` characters): items that do not fit are left out,
last first, and a closing line says how many. Citations are links to the posts
(``t.me`` permalinks) named by channel and time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Final

from services.digest.domain.model import Draft, Item, Post
from services.digest.domain.topics import label

TELEGRAM_LIMIT: Final = 4096
ALLOWED_TAGS: Final = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote"})
_TAG: Final = re.compile(r"</?([a-zA-Z0-9]+)")
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]])")


def _cite_label(post: Post | None, post_id: str) -> str:
    if post is None:
        return post_id
    name = post.channel_title or post.channel_id
    return f"{name}, {post.date:%d.%m %H:%M}"


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


MARKDOWN_LINKS: Final = 12


def markdown(draft: Draft, posts: Mapping[str, Post], *, title: str, language: str) -> str:
    """The draft as Markdown: a heading, topic sections, one bullet per item with links to
    its first ``MARKDOWN_LINKS`` sources (the item's citations list them all)."""
    lines = [f"# {_md(title)}", ""]
    if draft.header:
        lines += [_md(draft.header), ""]
    for note in draft.notes:
        lines.append(f"- {_md(note)}")
    if draft.notes:
        lines.append("")
    current = None
    for item in draft.items:
        if item.topic != current:
            current = item.topic
            lines += [f"## {label(item.topic, language)}", ""]
        lines.append(f"- **{_md(item.title)}** {_md(item.summary)}".rstrip())
        links = []
        for pid in item.citations[:MARKDOWN_LINKS]:
            post = posts.get(pid)
            text = _md(_cite_label(post, pid))
            links.append(f"[{text}]({post.permalink})" if post and post.permalink else text)
        if len(item.citations) > MARKDOWN_LINKS:
            links.append(f"+{len(item.citations) - MARKDOWN_LINKS}")
        if links:
            lines.append(f"  {' · '.join(links)}")
    return "\n".join(lines).rstrip() + "\n"


def _html_item(item: Item, posts: Mapping[str, Post], max_links: int) -> str:
    e = html.escape
    links = []
    for pid in item.citations[:max_links]:
        post = posts.get(pid)
        text = e(_cite_label(post, pid))
        if post and post.permalink:
            links.append(f'<a href="{e(post.permalink, quote=True)}">{text}</a>')
        else:
            links.append(text)
    more = len(item.citations) - max_links
    if more > 0:
        links.append(f"+{more}")
    body = f"• <b>{e(item.title)}</b> {e(item.summary)}".rstrip()
    return f"{body}\n{' · '.join(links)}" if links else body


def telegram_html(
    draft: Draft, posts: Mapping[str, Post], *, title: str, language: str, max_links: int = 3
) -> str:
    """The draft as Telegram HTML of at most ``TELEGRAM_LIMIT`` characters."""
    e = html.escape
    head = [f"<b>{e(title)}</b>"]
    if draft.header:
        head.append(e(draft.header))
    head += [f"— {e(n)}" for n in draft.notes]
    blocks: list[tuple[str, str]] = [
        (item.topic, _html_item(item, posts, max_links)) for item in draft.items
    ]
    for keep in range(len(blocks), -1, -1):
        parts = list(head)
        current = None
        for topic, block in blocks[:keep]:
            if topic != current:
                current = topic
                parts.append(f"\n<b>{e(label(topic, language))}</b>")
            parts.append(block)
        left = len(blocks) - keep
        if left:
            parts.append(
                f"\n<i>… ещё {left}</i>" if language == "ru" else f"\n<i>… {left} more</i>"
            )
        text = "\n".join(parts)
        if len(text) <= TELEGRAM_LIMIT:
            return text
    return e(title)[:TELEGRAM_LIMIT]


def html_tags_allowed(text: str) -> bool:
    """Whether every tag in ``text`` is one Telegram accepts."""
    return all(m.group(1).lower() in ALLOWED_TAGS for m in _TAG.finditer(text))
