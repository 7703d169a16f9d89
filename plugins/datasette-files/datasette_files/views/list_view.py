"""A listing's two views (Grid and List): which one a page shows, its sort
links and column headers, and times as the views write them."""

from __future__ import annotations

import datetime
import urllib.parse
from typing import Optional

from ..clock import parse_timestamp
from ..state import state
from ..uploads.storing import actor_id_of
from .params import NUMERIC_SORTS, choice_param

VIEWS = ("grid", "list")
DEFAULT_VIEW = "grid"
# Where an anonymous visitor's choice is kept (a signed-in actor's is in the registry).
VIEW_COOKIE = "datasette_files_view"
# Every preference an actor may set, and its values.
PREFERENCES = {"view": VIEWS}
# The list's columns: (sort, heading); each sorts the folder when clicked.
LIST_COLUMNS = (("name", "Name"), ("size", "Size"), ("modified", "Modified"),
                ("type", "Type"), ("uploader", "Uploaded by"))
# What the toolbar calls each sort ("date" is when the file was added).
SORT_LABELS = {"date": "added", "name": "name", "size": "size", "type": "type",
               "modified": "modified", "uploader": "uploader"}


async def chosen_view(datasette, request) -> str:
    """The view a listing shows: ``?view=`` when given, else the actor's saved
    choice (anonymous: the cookie's), else the grid."""
    asked = choice_param(request.args, "view", VIEWS, None)
    if asked:
        return asked
    actor_id = actor_id_of(request.actor)
    if actor_id is None:
        saved = request.cookies.get(VIEW_COOKIE)
    else:
        saved = (await state(datasette).registry.preferences.of(actor_id)).get("view")
    return saved if saved in VIEWS else DEFAULT_VIEW


def default_order(sort: str) -> str:
    """Numbers and times list the largest first; words from A."""
    return "desc" if sort in NUMERIC_SORTS else "asc"


def listing_url(link: dict, **changes) -> str:
    """``?`` and the query of ``link`` (the page's sort, order, folder and any
    ``view`` asked for) with ``changes``; a None drops a parameter."""
    args = {**link, **changes}
    return "?" + urllib.parse.urlencode({k: v for k, v in args.items() if v is not None})


def sort_links(link: dict, sorts, sort: str, order: str) -> list[dict]:
    """For each of ``sorts``: its link (the current one reverses its order),
    whether it is current, and its aria-sort."""
    links = []
    for name in sorts:
        current = name == sort
        next_order = ("asc" if order == "desc" else "desc") if current else default_order(name)
        links.append({
            "name": name, "label": SORT_LABELS.get(name, name), "current": current,
            "url": listing_url(link, sort=name, order=next_order, page=None),
            "aria_sort": ("descending" if order == "desc" else "ascending") if current
            else None,
            "arrow": ("↓" if order == "desc" else "↑") if current else ""})
    return links


def list_columns(link: dict, sort: str, order: str) -> list[dict]:
    """The list's column headings, each a sort link (sort_links) with its heading."""
    links = sort_links(link, [name for name, _ in LIST_COLUMNS], sort, order)
    return [{**column, "label": heading} for column, (_, heading) in zip(links, LIST_COLUMNS)]


def view_links(link: dict, view: str) -> list[dict]:
    """The Grid | List toggle: a link to each view of this listing."""
    return [{"name": name, "label": name.capitalize(), "current": name == view,
             "url": listing_url(link, view=name, page=None)} for name in VIEWS]


def moment(when: Optional[datetime.datetime]) -> Optional[dict]:
    """A time as the pages write it, in UTC (a script shows it in the reader's
    time zone): ISO for ``<time datetime>``, the day ("2 Dec 2026") and the
    clock ("14:05")."""
    if when is None:
        return None
    when = when.astimezone(datetime.timezone.utc)
    return {"iso": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "day": f"{when.day} {when:%b %Y}", "clock": f"{when:%H:%M}"}


def moment_of_ns(ns: int) -> dict:
    return moment(datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.timezone.utc))


def moment_of_timestamp(timestamp: Optional[str]) -> Optional[dict]:
    """``moment`` of a registry timestamp ("YYYY-MM-DD HH:MM:SS", UTC)."""
    return moment(parse_timestamp(timestamp)) if timestamp else None
