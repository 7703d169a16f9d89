"""COMPATIBILITY.md as the harness reads it: the rows of its tables whose first
cell is a `key` in backticks (fnmatch patterns: * matches anything). Each row
says what the reference answers, what ours answers (patterns too) and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from .diff import Difference

COMPATIBILITY = (Path(__file__).resolve().parents[3]
                 / "plugins" / "datasette-files" / "COMPATIBILITY.md")
ROW = re.compile(r"^\|\s*`(?P<key>[^`]+)`\s*\|(?P<reference>[^|]*)\|(?P<ours>[^|]*)\|")


@dataclass(frozen=True)
class Entry:
    key: str
    reference: str
    ours: str
    line: int

    def matches_key(self, difference: Difference) -> bool:
        return fnmatchcase(difference.key, self.key)

    def matches(self, difference: Difference) -> bool:
        return (self.matches_key(difference)
                and fnmatchcase(difference.reference, self.reference)
                and fnmatchcase(difference.ours, self.ours))


def _cell(text: str) -> str:
    return text.strip().strip("`").replace("\\|", "|")


def read_entries(path: Path = COMPATIBILITY) -> list[Entry]:
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = ROW.match(line)
        if match:
            entries.append(Entry(match["key"].strip(), _cell(match["reference"]),
                                 _cell(match["ours"]), number))
    return entries


@dataclass
class Verdict:
    documented: list[tuple[Difference, Entry]]
    undocumented: list[Difference]
    # A key is listed, but the values found are not the ones written down.
    misdocumented: list[tuple[Difference, Entry]]
    stale: list[Entry]
    informational: list[Difference]

    @property
    def passed(self) -> bool:
        return not (self.undocumented or self.misdocumented or self.stale)


def judge(differences: list[Difference], entries: list[Entry]) -> Verdict:
    verdict = Verdict([], [], [], [], [])
    used = set()
    for difference in differences:
        if difference.informational:
            verdict.informational.append(difference)
            continue
        entry = next((e for e in entries if e.matches(difference)), None)
        if entry is not None:
            verdict.documented.append((difference, entry))
            used.add(entry)
            continue
        near = next((e for e in entries if e.matches_key(difference)), None)
        if near is not None:
            verdict.misdocumented.append((difference, near))
            used.add(near)
        else:
            verdict.undocumented.append(difference)
    verdict.stale = [entry for entry in entries if entry not in used]
    return verdict
