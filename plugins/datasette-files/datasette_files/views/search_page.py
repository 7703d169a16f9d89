"""The search page: words, filter chips and a sort; results that say where they
are and what matched; previous and next pages.

Every control is a link or a plain GET form, so the page works without
JavaScript (search.js only saves a click here and there). Each link is the
page's own query with one thing changed: PageArgs.
"""

from __future__ import annotations

import datetime
import html
import re
import urllib.parse
from dataclasses import dataclass
from typing import Optional

from datasette import NotFound
from markupsafe import Markup

from ..clock import utc_now
from ..errors import ApiError
from ..kinds import KINDS, LABELS, kind_of
from ..permissions import allowed_sources_sql
from ..registry import SEARCH_SORTS, FileRow, InvalidCursor, InvalidQuery, SearchFilters
from ..registry.search.text import MIN_SUBSTRING_CHARS, fold
from ..state import state
from .bulk_bar import search_bulk_actions
from .common import html_page, render
from .pages import browsable_sources, card, folder_url
from .params import choice_param

PAGE_SIZE = 50
# The page's parameters, in the order its links write them ("next" is a
# cursor: no link but Previous and Next keeps it).
FILTER_PARAMS = ("source", "folder", "kind", "uploader", "since", "until", "min_size",
                 "max_size")
PARAMS = ("q", *FILTER_PARAMS, "sort")
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first",
               "name": "Name (A to Z)", "size": "Largest first"}
# Size presets: (label, min_size, max_size), as typed in the size boxes.
SIZE_PRESETS = (("Up to 1 MB", None, "1MB"), ("1 MB to 100 MB", "1MB", "100MB"),
                ("Over 100 MB", "100MB", None))
# Where a word starts, as the engine splits words (letters and digits, not "_").
_WORD_START = r"(?<![^\W_])"


@dataclass(frozen=True)
class PageArgs:
    """The search page's query as (name, value) pairs, empty values dropped and
    ``kind=a,b`` spelled as one pair per kind, so that a chip can drop one."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def from_request(cls, args) -> "PageArgs":
        pairs = []
        for name in PARAMS:
            for value in args.getlist(name):
                # Kinds as the engine reads them: any case, around commas.
                values = [v.strip().lower() for v in value.split(",")] \
                    if name == "kind" else [value]
                pairs.extend((name, v) for v in values if v.strip())
        return cls(tuple(pairs))

    def get(self, name: str) -> Optional[str]:
        return next((v for n, v in self.pairs if n == name), None)

    def without(self, *names: str, value: Optional[str] = None) -> "PageArgs":
        """These args without ``names`` (only their pairs with ``value``, if given)."""
        return PageArgs(tuple((n, v) for n, v in self.pairs
                              if n not in names or (value is not None and v != value)))

    def replacing(self, **values: Optional[str]) -> "PageArgs":
        """These args with ``values`` in place of what they had (None drops one)."""
        kept = self.without(*values).pairs
        added = tuple((n, v) for n, v in values.items() if v)
        return PageArgs(tuple(sorted(kept + added, key=lambda pair: PARAMS.index(pair[0]))))

    def query(self, cursor: Optional[str] = None) -> str:
        pairs = self.pairs + ((("next", cursor),) if cursor else ())
        return "?" + urllib.parse.urlencode(pairs) if pairs else "?"


@html_page
async def search_page(datasette, request):
    args = PageArgs.from_request(request.args)
    actor_id = (request.actor or {}).get("id")
    context = {"args": args, "q": args.get("q") or "", "source": args.get("source"),
               "folder": args.get("folder") or "", "actor_id": actor_id,
               "sources": await browsable_sources(datasette, request.actor),
               "kinds": KINDS, "sort_labels": SORT_LABELS, "sort": args.get("sort"),
               "default_sort": "relevance" if (args.get("q") or "").strip() else "newest",
               "date_presets": date_presets(args, utc_now().date()),
               "size_presets": size_presets(args),
               "clear_url": args.without(*FILTER_PARAMS).query()}
    try:
        filters = SearchFilters.from_args(request.args)
        page = await state(datasette).registry.search_index.search(
            await allowed_sources_sql(datasette, request.actor), query=context["q"],
            filters=filters, sort=choice_param(request.args, "sort", SEARCH_SORTS, None),
            cursor=request.args.get("next") or None, limit=PAGE_SIZE)
    except InvalidCursor:
        raise NotFound("That page of results no longer exists")
    except (ApiError, InvalidQuery) as error:
        # The form as it was, to put right, and a way out.
        return await render(datasette, request, "files_search.html", {
            **context, "error": str(error), "chips": [], "files": []}, status=400)
    words = context["q"].split()
    return await render(datasette, request, "files_search.html", {
        **context,
        **(await search_bulk_actions(datasette, request.actor, context["sources"])
           if page.files else {}),
        "zip_url": datasette.urls.path("/-/files/-/zip"),
        "chips": filter_chips(args, filters, actor_id, context["date_presets"],
                              context["size_presets"]),
        "files": [result(datasette, args, file, words, page.matches.get(file.id))
                  for file in page.files],
        "total": page.total, "total_is_capped": page.total_is_capped,
        "previous_url": _page_url(args, page.previous_cursor),
        "next_url": _page_url(args, page.next_cursor),
        "page": page.page, "pages": page.pages, "pages_is_capped": page.pages_is_capped,
    })


def _page_url(args: PageArgs, cursor: Optional[str]) -> Optional[str]:
    # An empty cursor is the first page.
    return None if cursor is None else args.query(cursor)


def result(datasette, args: PageArgs, file: FileRow, words: list[str],
           match: Optional[dict]) -> dict:
    """What the page shows of a file it found: where it is, and why it matched."""
    shown_by_name = match is None or match.get("field") == "filename"
    return {
        **card(datasette, file),
        "filename_html": highlight(file.filename, words),
        "kind_label": LABELS[kind_of(file.content_type, file.filename)],
        "folder_label": folder_label(file.source_slug, file.folder),
        "folder_url": folder_url(datasette, file.source_slug, file.folder),
        # The engine escapes the snippet and marks what matched in it.
        "snippet_html": None if shown_by_name else Markup(match["snippet_html"]),
        "match_field": None if shown_by_name else match["field"],
        "uploader_url": args.replacing(uploader=file.uploaded_by).query()
        if file.uploaded_by and args.get("uploader") != file.uploaded_by else None,
    }


def folder_label(source: str, folder: str) -> str:
    """'team / Reports / 2024': a source and a folder in it, for people."""
    return " / ".join([source, *(folder.split("/") if folder else [])])


def date_presets(args: PageArgs, today: datetime.date) -> list[dict]:
    """Last 7 days, last 30 days, this year: links that set ``since``."""
    presets = [("Last 7 days", today - datetime.timedelta(days=7)),
               ("Last 30 days", today - datetime.timedelta(days=30)),
               (f"This year ({today.year})", today.replace(month=1, day=1))]
    return [_preset(args, label, since=since.isoformat(), until=None)
            for label, since in presets]


def size_presets(args: PageArgs) -> list[dict]:
    return [_preset(args, label, min_size=low, max_size=high)
            for label, low, high in SIZE_PRESETS]


def _preset(args: PageArgs, label: str, **values: Optional[str]) -> dict:
    return {"label": label, "values": {k: v or "" for k, v in values.items()},
            "url": args.replacing(**values).query(),
            "active": all(args.get(k) == v for k, v in values.items())}


def filter_chips(args: PageArgs, filters: SearchFilters, actor_id: Optional[str],
                 dates: list[dict], sizes: list[dict]) -> list[dict]:
    """One chip per active filter: what it is, and the link that drops it."""
    chips = []

    def chip(label: str, dropped: PageArgs, in_panel: bool = True):
        # in_panel: set in the Filters panel (where a source and folder are not).
        chips.append({"label": label, "url": dropped.query(), "in_panel": in_panel})

    if args.get("folder"):
        chip(f"In {folder_label(args.get('source'), args.get('folder'))}",
             args.without("folder"), in_panel=False)
    elif args.get("source"):
        chip(f"In {args.get('source')}", args.without("source"), in_panel=False)
    for kind in filters.kinds:
        chip(f"Kind: {LABELS.get(kind, kind)}", args.without("kind", value=kind))
    if filters.uploader:
        chip("Uploaded by me" if filters.uploader == actor_id
             else f"Uploaded by {filters.uploader}", args.without("uploader"))
    if filters.since or filters.until:
        chip(_preset_label(dates) or _range_label("Added", filters.since, filters.until),
             args.without("since", "until"))
    if filters.min_size is not None or filters.max_size is not None:
        chip(_preset_label(sizes) or _range_label(
            "Size", size_label(filters.min_size), size_label(filters.max_size)),
            args.without("min_size", "max_size"))
    return chips


def _preset_label(presets: list[dict]) -> Optional[str]:
    return next((p["label"] for p in presets if p["active"]), None)


def _range_label(what: str, low: Optional[str], high: Optional[str]) -> str:
    if low and high:
        return f"{what}: {low} to {high}"
    return f"{what}: from {low}" if low else f"{what}: up to {high}"


def size_label(size: Optional[int]) -> Optional[str]:
    """Bytes in decimal units, as the size presets speak: 1500000 is '1.5 MB'."""
    if size is None:
        return None
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes" if size != 1 else "1 byte"


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` escaped, with what the query's words match marked, as the
    engine matches: diacritics folded, any case; words of MIN_SUBSTRING_CHARS or
    more anywhere in it, shorter ones at the start of a word."""
    text = text or ""
    # A word that folds to nothing (a lone accent) would match everywhere.
    words = [w for w in (fold(w.strip('"')) for w in words) if w]
    if not words:
        return Markup(html.escape(text))
    # The folded text, and for each of its characters the one of ``text`` it came from.
    folded, origin = [], []
    for index, character in enumerate(text):
        folded.append(fold(character))
        origin += [index] * len(folded[-1])
    pattern = re.compile("|".join(
        re.escape(w) if len(w) >= MIN_SUBSTRING_CHARS else _WORD_START + re.escape(w)
        for w in sorted(words, key=len, reverse=True)))
    marked, end = [], 0
    for found in pattern.finditer("".join(folded)):
        start, stop = origin[found.start()], origin[found.end() - 1] + 1
        if start >= end:
            marked += [html.escape(text[end:start]), "<mark>", html.escape(text[start:stop]),
                       "</mark>"]
            end = stop
    return Markup("".join(marked) + html.escape(text[end:]))
