"""Search text: the words of a query, the FTS5 queries they make, and how a
file's text matched them (for ranking and for the snippet a result shows).

A word matches a file when a word of its name, type, search text or folder
starts with it (diacritics folded, any case), or, for a word of 3 or more
characters, when the file's name contains it. Python folds and splits text
as FTS5's unicode61 tokenizer does, closely enough to rank and highlight; the
indexes decide what matches.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from ...naming import FILE_ID_PATTERN

# Each word is a term (or a range of terms) FTS5 looks up: the work of a query
# grows with its words, so a query has at most this many.
MAX_QUERY_WORDS = 32
MAX_QUERY_CHARS = 512
# Shorter words match only as word prefixes: the trigram index needs three.
MIN_SUBSTRING_CHARS = 3
SNIPPET_CHARS = 160
# Ranking and snippets read at most this much of a file's search text.
MAX_TEXT_READ = 10_000
_FILE_ID_QUERY = re.compile(f"^{FILE_ID_PATTERN}$", re.IGNORECASE)
# Control characters end a string in SQLite's C API (NUL) or are never indexed.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


class InvalidQuery(ValueError):
    """Search text over the limits on its length or number of words."""


def fold(text: str) -> str:
    """Lowercase, without diacritics: "Résumé" -> "resume"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class SearchText:
    """A query: its words, or the file id it names."""

    words: tuple[str, ...] = ()
    file_id: Optional[str] = None

    @classmethod
    def parse(cls, query: Optional[str]) -> "SearchText":
        """Raises InvalidQuery over MAX_QUERY_CHARS or MAX_QUERY_WORDS."""
        query = query or ""
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQuery(f"Search text is {len(query)} characters long; "
                               f"at most {MAX_QUERY_CHARS} are allowed")
        if _FILE_ID_QUERY.match(query.strip()):
            return cls(file_id=query.strip().lower())
        words = [w for w in _CONTROL_CHARACTERS.sub(" ", query).split() if w.strip('"')]
        if len(words) > MAX_QUERY_WORDS:
            raise InvalidQuery(f"Search text has {len(words)} words; "
                               f"at most {MAX_QUERY_WORDS} are allowed")
        return cls(words=tuple(dict.fromkeys(words)))

    def __bool__(self) -> bool:
        return bool(self.words or self.file_id)

    def any_word(self) -> str:
        """FTS5 query: files with a word starting with any of the words.

        Each word is quoted, so FTS5 syntax in user input is searched for
        literally. A one-character word (or last piece of a word, as "b" of
        "a_b") matches that whole word only: as a prefix it would match much of
        the index, which has no such prefix index.
        """
        return " OR ".join(_prefix_term(w) for w in self.words)

    def word_terms(self) -> list[str]:
        """Each word as an FTS5 query of its own."""
        return [_prefix_term(w) for w in self.words]

    def word_hints(self) -> list[Optional[str]]:
        """For each word, a LIKE pattern every ASCII text it matches has (the
        word as a substring), or None when there is none to give: a word with
        other characters than ASCII letters and digits (FTS5 folds accents and
        splits at punctuation, which a substring would not)."""
        return [f"%{w}%" if _ASCII_WORD.fullmatch(w) else None for w in self.words]

    def every_word(self) -> str:
        """FTS5 query: files with a word starting with each of the words."""
        return " AND ".join(_prefix_term(w) for w in self.words)

    @property
    def substrings(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if len(w) >= MIN_SUBSTRING_CHARS)

    def any_substring(self) -> str:
        """FTS5 query of the trigram index: names containing any long word."""
        return " OR ".join('"{}"'.format(w.replace('"', '""')) for w in self.substrings)

    def like_patterns(self) -> list[str]:
        """LIKE patterns (escaped with '\\') for the long words as substrings."""
        return ["%" + re.sub(r"([\\%_])", r"\\\1", w) + "%" for w in self.substrings]


def _prefix_term(word: str) -> str:
    # FTS5 splits "a_b" or "it's" into a phrase: its last piece, when of one
    # character, matches whole, as a one-character word does.
    pieces = _TOKEN.findall(fold(word))
    prefix = bool(pieces) and len(pieces[-1]) > 1
    return '"{}"{}'.format(word.replace('"', '""'), "*" if prefix else "")


@dataclass
class TextMatch:
    """How a file's text matched a query."""

    words: int  # how many of the query's words matched
    field: Optional[str]  # the field of the first match to show: search_text or folder
    snippet_html: Optional[str]


def match_of(text: SearchText, filename: str, search_text: str, folder: str,
             content_type: str) -> TextMatch:
    """Which of the query's words the file's fields match, and a snippet of
    the search text or folder name that matched (None when only the name or
    type matched: the name is shown anyway)."""
    fields = {"filename": filename or "", "search_text": (search_text or "")[:MAX_TEXT_READ],
              "folder": folder or "", "content_type": content_type or ""}
    folded = {name: fold(value) for name, value in fields.items()}
    words = [fold(w.strip('"')) for w in text.words]
    matched = 0
    for word in words:
        if not word:
            continue
        if any(_has_word_starting(value, word) for value in folded.values()) or (
                len(word) >= MIN_SUBSTRING_CHARS and word in folded["filename"]):
            matched += 1
    for field in ("search_text", "folder"):
        snippet = _snippet(fields[field], folded[field], words)
        if snippet is not None:
            return TextMatch(matched, field, snippet)
    return TextMatch(matched, None, None)


def _has_word_starting(folded_text: str, word: str) -> bool:
    for token in _TOKEN.findall(folded_text):
        if token.startswith(word) if len(word) > 1 else token == word:
            return True
    return False


def _snippet(original: str, folded: str, words: list[str]) -> Optional[str]:
    """Up to SNIPPET_CHARS of ``original`` around its first matching word,
    HTML-escaped, with each match in <mark>. Folding keeps positions only when
    it keeps the length; otherwise the folded text is shown."""
    shown = original if len(original) == len(folded) else folded
    spans = []
    for token in _TOKEN.finditer(folded):
        for word in words:
            if word and (token.group().startswith(word) if len(word) > 1
                         else token.group() == word):
                spans.append((token.start(), token.start() + len(word)))
                break
    if not spans:
        return None
    first = spans[0][0]
    start = max(0, min(first - SNIPPET_CHARS // 3, len(shown) - SNIPPET_CHARS))
    end = min(len(shown), start + SNIPPET_CHARS)
    pieces, position = [], start
    for span_start, span_end in spans:
        if span_start < position or span_end > end:
            continue
        pieces.append(html.escape(shown[position:span_start]))
        pieces.append(f"<mark>{html.escape(shown[span_start:span_end])}</mark>")
        position = span_end
    pieces.append(html.escape(shown[position:end]))
    return ("…" if start > 0 else "") + "".join(pieces) + ("…" if end < len(shown) else "")
