"""Zero 5xx, by a fuzzer: schemathesis sends what the OpenAPI description
allows (and what it does not) to a real server, as an admin and as a member,
and checks every answer against the description.

Checks: no 5xx; every status, content type, header and body is one the
description documents for the operation; input the description rules out is
refused with a 4xx; every error is `{"ok": false, "errors": [...]}` JSON with a
4xx (tests/support/fuzz_checks.py).

The server holds a few files, an import and live upload tokens, set as the
parameters' examples, so requests reach real files, not only 404s. Generation
is seeded and deterministic, so CI runs the same requests every time.

schemathesis runs from its own cached virtualenv (under bench/.peers, as the
benchmark's peers do), not the test suite's: it brings `rich`, and Datasette
prints every exception with `rich` when it can import it - a traceback for
each error page, and a 500 for each URL no route matches - which would make
the suite test a Datasette that production does not run.

    FUZZ_EXAMPLES=300 FUZZ_SEED=7 python3 dev.py test tests/plugin/test_openapi_fuzz.py -s

hunts more widely: more fuzzed cases per operation (CI's default is 30), and
random (seeded, repeatable) generation instead of CI's deterministic one.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from support import api
from support.config import ADMIN
from support.server import DatasetteServer, actor_cookie, source_config
from support.venvs import ensure_venv, required

SCHEMATHESIS = ["schemathesis>=4.32,<5"]
pytestmark = pytest.mark.needs_venv("schemathesis", SCHEMATHESIS)
MEMBER = {"id": "member"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# CI's generation is deterministic; a seed makes it random, and repeatable.
SEED = os.environ.get("FUZZ_SEED")
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "errors_are_json_4xx"]
BOTH = {"allow": {"id": ["admin", "member"]}}
ADMIN_ONLY = {"allow": {"id": "admin"}}
CONFIG = {
    "permissions": {
        "files-browse": {"team": BOTH, "private": ADMIN_ONLY},
        "files-upload": {"team": BOTH, "private": ADMIN_ONLY},
        "files-edit": {"team": ADMIN_ONLY, "private": ADMIN_ONLY},
        "files-delete": {"team": ADMIN_ONLY, "private": ADMIN_ONLY},
        "files-manage-sources": {"id": "admin"},
        "create-table": {"id": "admin"},
        "insert-row": {"id": "admin"},
    },
}
CSV = b"name,age\nada,36\ngrace,45\n"
CUSTOM_CHECKS = Path(__file__).parent.parent / "support" / "fuzz_checks.py"
# Input the description rules out may also be refused as too large (413), of
# a type the endpoint does not read (415), or for an expired token (410).
SETTINGS = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422]
"""


@pytest.fixture(scope="module")
def schemathesis_bin() -> Path:
    # Fails under REQUIRE_PYPI=1 (CI) when it cannot be installed.
    return required(lambda: ensure_venv("schemathesis", SCHEMATHESIS))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz")
    sqlite3.connect(data / "data.db").close()
    config = {**CONFIG, "plugins": {"datasette-files": {
        "owners_can_edit": True, "owners_can_delete": True,
        "sources": {"team": source_config(data / "team", max_file_size=100_000),
                    "private": source_config(data / "private")}}}}
    server = DatasetteServer(data, config, extra_args=[str(data / "data.db")])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def seeded(server) -> dict:
    """The files (and an import) the fuzzer's examples name, by what they are:
    new ones for each run, whose deletes leave the next run none of these."""
    with server.client(ADMIN) as admin, server.client(MEMBER) as member:
        ids = {
            "notes": put(admin, "team", "notes.txt", b"some notes"),
            "people": put(admin, "team", "people.csv", CSV),
            "secret": put(admin, "private", "secret.txt", b"admin only"),
            "mine": put(member, "team", "mine.txt", b"the member's"),
            "doomed-admin": put(admin, "team", "doomed-admin.txt", b"x"),
            "doomed-member": put(member, "team", "doomed-member.txt", b"x"),
        }
        started = admin.post(f"/-/files/import/{ids['people']}", json={
            "database": "data", "table_name": f"people_{ids['people'][-6:]}"},
            headers={"Accept": "application/json"})
        assert started.status_code == 202, started.text
        ids["import"] = started.json()["import_id"]
    return ids


def put(client, source: str, name: str, content: bytes) -> str:
    response = client.put(f"/-/files/upload/{source}/{name}", content=content)
    assert response.status_code == 201, response.text
    return response.json()["file"]["id"]


def upload_token(server, actor: dict) -> str:
    """A fresh upload token of ``actor``'s: the upload steps get a real one."""
    with server.client(actor) as client:
        prepared = api.prepare(client, "team", "fuzz.bin", None)
    assert prepared.status_code == 200, prepared.text
    return prepared.json()["upload_token"]


def with_examples(description: dict, seeded: dict, actor: dict, token: str) -> dict:
    """The served description, its parameters' examples naming what is on
    this server; the files an actor may delete only on delete."""
    fuzzed = copy.deepcopy(description)
    parameters = fuzzed["components"]["parameters"]
    kept = [seeded[name] for name in ("notes", "people", "secret", "mine")]
    examples = {
        "FileId": kept + ["df-01j5a3b4c5d6e7f8g9h0jkmnpq"],
        "SourceSlug": ["team", "private", "nosuch"],
        "UploadTokenHeader": [token],
        "UploadTokenQuery": [token],
        "ZipId": [kept[:2], [seeded["secret"], kept[0]]],
        "ZipSource": ["team", "private", "nosuch"],
    }
    for name, values in examples.items():
        parameters[name].pop("example", None)
        parameters[name]["examples"] = {f"e{i}": {"value": v} for i, v in enumerate(values)}
    doomed = seeded["doomed-admin" if actor is ADMIN else "doomed-member"]
    delete = fuzzed["paths"]["/-/files/{file_id}/-/delete"]
    delete["post"]["parameters"] = [{
        **parameters["FileId"],
        "examples": {"doomed": {"value": doomed}, "notes": {"value": seeded["notes"]}}}]
    progress = fuzzed["paths"]["/-/files/import/{file_id}/{import_id}.json"]
    progress["parameters"][1].pop("example")
    progress["parameters"][1]["examples"] = {"real": {"value": seeded["import"]}}
    batch = fuzzed["paths"]["/-/files/batch.json"]["get"]["parameters"][0]
    batch["example"] = kept[:2]
    start_import = fuzzed["paths"]["/-/files/import/{file_id}"]
    start_import["post"]["parameters"] = [{
        **parameters["FileId"],
        "examples": {"csv": {"value": seeded["people"]}, "text": {"value": seeded["notes"]}}}]
    start_import["post"]["requestBody"]["content"]["application/json"]["examples"] = {
        "new": {"value": {"database": "data", "table_name": f"fuzzed_{seeded['people'][-6:]}"}}}
    # Batch uploads without the 1,000-file bound: the fuzzer filled arrays up to
    # it (and one past it), making thousands of files and most of its run time;
    # unbounded, it sends a few files a request. The bound has its own tests
    # (test_batch_upload.py).
    batch_upload = fuzzed["paths"]["/-/files/upload/{source_slug}/-/batch"]["post"]
    batch_upload["requestBody"]["content"]["multipart/form-data"]["schema"][
        "properties"]["file"].pop("maxItems")
    complete = fuzzed["paths"]["/-/files/upload/{source_slug}/-/complete"]["post"]
    complete["requestBody"]["content"]["application/json"]["examples"] = {
        "real": {"value": {"upload_token": token}}}
    return fuzzed


@pytest.mark.parametrize("actor", [ADMIN, MEMBER], ids=["admin", "member"])
def test_fuzzer_finds_no_server_error_and_no_undocumented_answer(
        server, seeded, schemathesis_bin, tmp_path, actor):
    with server.client(actor) as client:
        description = client.get("/-/files/openapi.json").json()
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(with_examples(description, seeded, actor,
                                               upload_token(server, actor))))
    # schemathesis reuses the ids responses name: deleting goes last, on its
    # own, or it would delete the files the other operations' requests name.
    runs = [fuzz(schemathesis_bin, schema, server.url, actor, tmp_path / "all-but-delete",
                 "--exclude-operation-id", "deleteFile"),
            fuzz(schemathesis_bin, schema, server.url, actor, tmp_path / "delete",
                 "--include-operation-id", "deleteFile")]
    print(summary(tmp_path.glob("*/*.ndjson")))
    for run in runs:
        assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]


def fuzz(schemathesis_bin: Path, schema: Path, url: str, actor: dict, report: Path,
         *options: str) -> subprocess.CompletedProcess:
    settings = report.parent / "schemathesis.toml"
    settings.write_text(SETTINGS)
    return subprocess.run(
        [str(schemathesis_bin / "st"), "--config-file", str(settings), "run", str(schema),
         "--url", url,
         "--header", f"Cookie: ds_actor={actor_cookie(actor)}",
         "--header", "Accept: application/json",
         "--checks", ",".join(CHECKS),
         "--phases", "examples,coverage,fuzzing",
         "--max-examples", str(EXAMPLES),
         *(["--seed", SEED, "--generation-database", "none"] if SEED
           else ["--generation-deterministic"]),
         "--generation-with-security-parameters", "false",
         "--suppress-health-check", "all", "--workers", "1", "--max-failures", "50",
         "--report", "ndjson", "--report-dir", str(report), "--no-color", *options],
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(CUSTOM_CHECKS)},
        # Its caches go beside the report, not into the checkout.
        cwd=report.parent, capture_output=True, text=True)


def summary(reports) -> str:
    """Requests sent per operation, by status."""
    statuses: dict[str, Counter] = {}
    for report in reports:
        for line in report.read_text().splitlines():
            scenario = json.loads(line).get("ScenarioFinished")
            if scenario:
                counts = statuses.setdefault(scenario["recorder"]["label"], Counter())
                for interaction in scenario["recorder"].get("interactions", {}).values():
                    counts[(interaction.get("response") or {}).get("status_code", "none")] += 1
    lines = [f"{sum(c.values()):5} {label}: {dict(sorted(c.items()))}"
             for label, c in sorted(statuses.items())]
    total = sum(sum(c.values()) for c in statuses.values())
    return "\n".join([*lines, f"{total:5} requests, {len(statuses)} operations"])
