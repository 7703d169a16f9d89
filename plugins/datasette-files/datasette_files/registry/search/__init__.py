"""Search: words, filters and sorts over the files an actor may browse."""

from .cursors import InvalidCursor
from .engine import COUNT_CAP, RANK_CAP, FileSearch, SearchPage, SearchTimedOut
from .filters import SearchFilters
from .orders import SORTS
from .text import InvalidQuery, SearchText

__all__ = ["COUNT_CAP", "RANK_CAP", "FileSearch", "InvalidCursor", "InvalidQuery", "SORTS",
           "SearchFilters", "SearchPage", "SearchText", "SearchTimedOut"]
