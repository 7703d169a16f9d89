"""The harness's own rules: what counts as a difference and when the ledger
(COMPATIBILITY.md) fails a run."""

import json

import httpx

from support.parity.calls import Call, Symbols
from support.parity.diff import Answer, Difference, compare, compare_json
from support.parity.ledger import COMPATIBILITY, Entry, judge, read_entries

CALL = Call("file-json.owner", "owner", "GET", "/-/files/{report}.json")


def keys(differences):
    return [(d.key, d.reference, d.ours) for d in differences]


def test_keys_the_reference_has_are_compared_recursively_and_ours_only_reported():
    reference = {"files": [{"id": "x", "path": "p"}], "q": "", "n": None}
    ours = {"files": [{"id": "x", "more": 1}], "q": None, "n": None, "ok": True}
    assert sorted(keys(compare_json(CALL, reference, ours))) == [
        ("file-json.owner extra /files/#/more", "absent", "present"),
        ("file-json.owner extra /ok", "absent", "present"),
        ("file-json.owner missing /files/#/path", "present", "absent"),
        ("file-json.owner type /q", "string", "null"),
    ]


def test_lists_compare_their_lengths_and_numbers_are_one_type():
    assert keys(compare_json(CALL, {"a": [1, 2.5]}, {"a": [1.0]})) == [
        ("file-json.owner length /a", "2", "1")]


def test_ids_are_compared_as_the_symbols_of_the_calls_that_made_them():
    symbols = Symbols({"report": "df-01abcdefghjkmnpqrstvwxyz0"})
    assert symbols.fill("/-/files/{report}/download") == "/-/files/df-01abcdefghjkmnpqrstvwxyz0/download"
    assert symbols.symbolic("/files/df-01abcdefghjkmnpqrstvwxyz0") == "/files/<report>"
    assert symbols.fill("/-/files/{never_saved}") == "/-/files/df-00000000000000000000000000"


def test_an_unlisted_difference_fails_and_a_listed_one_passes():
    found = Difference("file-json.anon status", "403", "404")
    assert not judge([found], []).passed
    entry = Entry("*.anon status", "403", "404", 1)
    assert judge([found], [entry]).passed
    assert not judge([found], [Entry("*.anon status", "403", "410", 1)]).passed


def test_an_entry_that_no_longer_occurs_fails_the_run():
    verdict = judge([], [Entry("complete.* status", "201", "200", 7)])
    assert [entry.line for entry in verdict.stale] == [7]
    assert not verdict.passed


def test_keys_only_ours_has_never_fail():
    assert judge([Difference("batch.admin extra /ok", "absent", "present")], []).passed


def test_the_ledger_has_entries_with_reasons():
    entries = read_entries()
    assert entries, f"no `key` rows in {COMPATIBILITY}"
    rows = [line for line in COMPATIBILITY.read_text().splitlines()
            if line.startswith("| `")]
    assert all(line.rstrip("| ").split("|")[-1].strip() for line in rows), "a row without a reason"


def answer(body: dict, status: int = 200) -> Answer:
    return Answer(status, "application/json", httpx.Headers(), json.dumps(body).encode(),
                  Symbols({}))


def test_values_a_call_names_are_compared():
    call = Call("import-progress.json", "admin", "GET", "/", values=("/status",))
    assert keys(compare(call, answer({"status": "finished"}), answer({"status": "done"}))) == [
        ("import-progress.json value /status", '"finished"', '"done"')]


def test_a_different_status_says_it_all_and_our_errors_keep_their_shape():
    call = Call("file-json.anon", None, "GET", "/")
    assert keys(compare(call, answer({"ok": True}), answer({"error": "x"}, 404))) == [
        ("file-json.anon error-shape", "-", '{"error": "x"}'),
        ("file-json.anon status", "200", "404")]
