"""One run of the harness: start the pair, send every call to both, compare,
judge against COMPATIBILITY.md, and render the table of differences."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import scenario
from .calls import UNKNOWN_ID, Call, Symbols
from .diff import Answer, Difference, compare
from .ledger import COMPATIBILITY, Verdict, judge, read_entries
from .servers import ACTORS, ParityServer, our_server, reference_server

# How long an import of four rows may take on a busy machine before the run
# gives up waiting (and compares whatever state the imports are in).
IMPORT_WAIT_SECONDS = 60
FINAL_IMPORT_STATES = {"finished", "done", "error", "failed"}


@dataclass
class Report:
    requests: int
    differences: list[Difference]
    verdict: Verdict

    def table(self) -> str:
        return render(self)


class Side:
    """One server with a client per actor and its symbols."""

    def __init__(self, server: ParityServer, preset: dict[str, str]):
        self.server = server
        self.symbols = Symbols({"unknown": UNKNOWN_ID, **preset})
        self.clients = {name: server.client(actor) for name, actor in ACTORS.items()}

    def send(self, call: Call) -> Answer:
        response = call.request(self.clients[call.actor or "anon"], self.symbols)
        for symbol, extract in call.save.items():
            try:
                self.symbols.values[symbol] = extract(response)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # the call's own difference says why; later calls use UNKNOWN_ID
        return Answer.of(response, self.symbols)

    def wait_for_imports(self, *symbols: str) -> None:
        deadline = time.monotonic() + IMPORT_WAIT_SECONDS
        for symbol in symbols:
            if symbol not in self.symbols.values:
                continue
            path = self.symbols.fill("/-/files/import/{csv}/{%s}.json" % symbol)
            while time.monotonic() < deadline:
                status = self.clients["admin"].get(path).json().get("status")
                if status in FINAL_IMPORT_STATES:
                    break
                time.sleep(0.05)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def run(workdir: Path) -> Report:
    """Start both servers under ``workdir``, send the sequence, stop them."""
    servers = [reference_server(workdir / "reference"), our_server(workdir / "ours")]
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(server.start, 60) for server in servers]
        try:
            for future in started:
                future.result()
            reference = Side(servers[0], {"missing_import": "999999"})
            ours = Side(servers[1], {"missing_import": "imp-" + "0" * 26})
            differences: list[Difference] = []
            requests = 0
            for parts in (scenario.BEFORE_IMPORTS_FINISH, scenario.AFTER_IMPORTS_FINISH):
                for call in scenario.calls(parts):
                    differences += compare(call, reference.send(call), ours.send(call))
                    requests += 2
                for side in (reference, ours):
                    side.wait_for_imports("imp", "imp_json")
            reference.close()
            ours.close()
        finally:
            for server in servers:
                server.stop()
    return Report(requests, differences, judge(differences, read_entries()))


def render(report: Report) -> str:
    """The differences as a Markdown table, those that fail the run first."""
    verdict = report.verdict
    rows = ([("NOT LISTED", d, "") for d in verdict.undocumented]
            + [("LISTED OTHERWISE", d, f"line {e.line}: {e.reference} / {e.ours}")
               for d, e in verdict.misdocumented]
            + [("listed", d, f"line {e.line}") for d, e in verdict.documented])
    lines = [
        f"Reference parity: {report.requests} requests "
        f"({report.requests // 2} to each server), "
        f"{len(report.differences) - len(verdict.informational)} differences "
        f"({len(verdict.documented)} listed in {COMPATIBILITY.name}, "
        f"{len(verdict.undocumented)} not listed, {len(verdict.misdocumented)} listed "
        f"otherwise), {len(verdict.stale)} stale entries, "
        f"{len(verdict.informational)} keys only ours has.",
        "",
        "| verdict | key | reference | ours | entry |",
        "|---|---|---|---|---|",
        *(f"| {v} | `{d.key}` | {d.reference} | {d.ours} | {note} |" for v, d, note in rows),
        *(f"| STALE | `{e.key}` | {e.reference} | {e.ours} | line {e.line}: no longer "
          "found |" for e in verdict.stale),
    ]
    if verdict.informational:
        # Per endpoint family: the same extra keys come back for every actor.
        extras: dict[str, set[str]] = {}
        for d in verdict.informational:
            call, _, path = d.key.split(" ", 2)
            extras.setdefault(call.split(".")[0], set()).add(re.sub(r"<[^>]+>", "<id>", path))
        lines += ["", "Keys only ours has (reported, not failed):", "",
                  *(f"- {family}: {', '.join(sorted(paths))}"
                    for family, paths in sorted(extras.items()))]
    return "\n".join(lines)
