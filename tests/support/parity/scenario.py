"""The request sequence: every endpoint of the specification's endpoint table,
as each actor, in success and error cases, in an order that builds on itself
(files are uploaded before they are read, updated, imported and deleted)."""

from __future__ import annotations

import struct
import zlib

from .calls import Call, file_id_of, import_of, token_of

NOT_AN_ID = "not-a-file-id"
REPORT = b"Quarterly report\nrevenue up\n"
CSV = b"name,count\nalpha,1\nbeta,2\ngamma,3\n"


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (grey pixels), small enough to write by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def upload(symbol: str, actor: str, source: str, filename: str, content: bytes,
           content_type: str) -> list[Call]:
    """The three steps, as the spec's clients send them; saves the token as
    ``tok_{symbol}`` and the file's id as ``{symbol}``."""
    base = f"/-/files/upload/{source}/-/"
    token = "{tok_%s}" % symbol
    return [
        Call(f"prepare.{symbol}", actor, "POST", base + "prepare",
             json={"filename": filename, "content_type": content_type, "size": len(content)},
             save={f"tok_{symbol}": token_of}),
        Call(f"upload.{symbol}", actor, "POST", base + "upload",
             form={"upload_token": token}, files={"file": (filename, content, content_type)}),
        Call(f"complete.{symbol}", actor, "POST", base + "complete",
             json={"upload_token": token}, save={symbol: file_id_of}),
    ]


def per_actor(name: str, method: str, path: str, actors=("anon", "member", "owner", "admin"),
              **kwargs) -> list[Call]:
    return [Call(f"{name}.{actor}", actor, method, path, **kwargs) for actor in actors]


def sources_and_index() -> list[Call]:
    return [
        *per_actor("sources", "GET", "/-/files/sources.json"),
        Call("sources.bad-api-token", None, "GET", "/-/files/sources.json",
             headers={"Authorization": "Bearer dstok_not-a-real-token"}),
        *per_actor("index", "GET", "/-/files", body="html"),
    ]


def uploads() -> list[Call]:
    prepare_team = "/-/files/upload/team/-/prepare"
    notes = b"meeting notes"
    return [
        *upload("report", "owner", "team", "report.txt", REPORT, "text/plain"),
        *upload("csv", "admin", "private", "data.csv", CSV, "text/csv"),
        *upload("image", "admin", "team", "pixel.png", png(), "image/png"),
        *upload("notes", "member", "team", "notes.txt", notes, "text/plain"),
        *upload("unicode", "admin", "team", "Résumé final (2).txt", b"cv", "text/plain"),
        *upload("junk", "admin", "team", "junk.bin", b"\x00\x01", "application/octet-stream"),
        # prepare's refusals
        Call("prepare.anon", None, "POST", prepare_team,
             json={"filename": "a.txt", "size": 1}),
        Call("prepare.member-private", "member", "POST", "/-/files/upload/private/-/prepare",
             json={"filename": "a.txt", "size": 1}),
        Call("prepare.unknown-source", "admin", "POST", "/-/files/upload/nowhere/-/prepare",
             json={"filename": "a.txt", "size": 1}),
        Call("prepare.bad-json", "member", "POST", prepare_team, content=b"{not json",
             headers={"Content-Type": "application/json"}),
        Call("prepare.not-an-object", "member", "POST", prepare_team, json=["a.txt"]),
        Call("prepare.missing-filename", "member", "POST", prepare_team, json={"size": 1}),
        Call("prepare.no-content-type", "member", "POST", prepare_team,
             json={"filename": "plain.txt", "size": 5}, save={"tok_plain": token_of}),
        Call("prepare.fresh", "member", "POST", prepare_team,
             json={"filename": "fresh.txt", "content_type": "text/plain", "size": 5},
             save={"tok_fresh": token_of}),
        # upload's refusals
        Call("upload.no-token", "member", "POST", "/-/files/upload/team/-/upload",
             files={"file": ("a.txt", b"a", "text/plain")}),
        Call("upload.bad-token", "member", "POST", "/-/files/upload/team/-/upload",
             form={"upload_token": "tok_notarealtoken"},
             files={"file": ("a.txt", b"a", "text/plain")}),
        Call("upload.no-file", "member", "POST", "/-/files/upload/team/-/upload",
             form={"upload_token": "{tok_plain}"}),
        # complete's refusals
        Call("complete.anon", None, "POST", "/-/files/upload/team/-/complete",
             json={"upload_token": "{tok_plain}"}),
        Call("complete.bad-json", "member", "POST", "/-/files/upload/team/-/complete",
             content=b"nope", headers={"Content-Type": "application/json"}),
        Call("complete.missing-token", "member", "POST", "/-/files/upload/team/-/complete",
             json={}),
        Call("complete.bad-token", "member", "POST", "/-/files/upload/team/-/complete",
             json={"upload_token": "tok_notarealtoken"}),
        Call("complete.before-upload", "member", "POST", "/-/files/upload/team/-/complete",
             json={"upload_token": "{tok_fresh}"}),
        Call("complete.unknown-source", "member", "POST", "/-/files/upload/nowhere/-/complete",
             json={"upload_token": "{tok_plain}"}),
    ]


def upload_edge_cases() -> list[Call]:
    """Calls after which the two servers may hold different files (the
    reference accepts what ours refuses): sent after the reads and searches."""
    return [
        Call("upload.wrong-source", "admin", "POST", "/-/files/upload/private/-/upload",
             form={"upload_token": "{tok_plain}"},
             files={"file": ("plain.txt", b"plain", "text/plain")}),
        Call("upload.unknown-source", "member", "POST", "/-/files/upload/nowhere/-/upload",
             form={"upload_token": "{tok_plain}"},
             files={"file": ("plain.txt", b"plain", "text/plain")}),
        Call("upload.another-actor", "owner", "POST", "/-/files/upload/team/-/upload",
             form={"upload_token": "{tok_plain}"},
             files={"file": ("plain.txt", b"plain", "text/plain")}),
        Call("upload.again", "owner", "POST", "/-/files/upload/team/-/upload",
             form={"upload_token": "{tok_report}"},
             files={"file": ("report.txt", REPORT, "text/plain")}),
        Call("complete.again", "owner", "POST", "/-/files/upload/team/-/complete",
             json={"upload_token": "{tok_report}"}),
        # A body shorter than the size prepare declared.
        Call("prepare.short", "member", "POST", "/-/files/upload/team/-/prepare",
             json={"filename": "short.txt", "content_type": "text/plain", "size": 100},
             save={"tok_short": token_of}),
        Call("upload.shorter-than-declared", "member", "POST", "/-/files/upload/team/-/upload",
             form={"upload_token": "{tok_short}"},
             files={"file": ("short.txt", b"only ten b", "text/plain")}),
        Call("complete.shorter-than-declared", "member", "POST",
             "/-/files/upload/team/-/complete", json={"upload_token": "{tok_short}"}),
    ]


def reading_files() -> list[Call]:
    calls = []
    for family, suffix, body in (("file-json", ".json", "json"), ("file-page", "", "html"),
                                 ("download", "/download", "bytes"),
                                 ("thumbnail", "/thumbnail", "media")):
        path = "/-/files/{report}" + suffix
        calls += [
            *per_actor(family, "GET", path, body=body),
            Call(f"{family}.member-private", "member", "GET", "/-/files/{csv}" + suffix,
                 body=body),
            Call(f"{family}.unknown", "admin", "GET", "/-/files/{unknown}" + suffix, body=body),
            Call(f"{family}.not-an-id", "admin", "GET", f"/-/files/{NOT_AN_ID}" + suffix,
                 body=body),
        ]
    calls += [
        Call("file-json.image", "admin", "GET", "/-/files/{image}.json"),
        Call("download.unicode-name", "admin", "GET", "/-/files/{unicode}/download",
             body="bytes"),
        Call("download.image", "admin", "GET", "/-/files/{image}/download", body="bytes"),
        Call("thumbnail.image", "admin", "GET", "/-/files/{image}/thumbnail", body="media"),
    ]
    return calls


def batch_and_search() -> list[Call]:
    ids = "id={report}&id={csv}&id={unknown}&id=" + NOT_AN_ID
    return [
        *per_actor("batch", "GET", "/-/files/batch.json?" + ids),
        Call("batch.no-ids", "member", "GET", "/-/files/batch.json"),
        *per_actor("search", "GET", "/-/files/search.json?q=report"),
        Call("search.everything", "admin", "GET", "/-/files/search.json"),
        Call("search.by-id", "owner", "GET", "/-/files/search.json?q={report}"),
        Call("search.source", "admin", "GET", "/-/files/search.json?q=data&source=private"),
        Call("search.member-private-source", "member", "GET",
             "/-/files/search.json?source=private"),
        Call("search.unknown-source", "member", "GET", "/-/files/search.json?source=nowhere"),
        Call("search.fts-syntax", "member", "GET", '/-/files/search.json?q="report*'),
        Call("search.two-words", "member", "GET", "/-/files/search.json?q=report zzzz"),
        Call("search.no-match", "member", "GET", "/-/files/search.json?q=zzzzqqq"),
        *per_actor("search-page", "GET", "/-/files/search?q=report", body="html"),
    ]


def pages() -> list[Call]:
    return [
        *per_actor("source-page", "GET", "/-/files/source/team", body="html"),
        Call("source-page.member-private", "member", "GET", "/-/files/source/private",
             body="html"),
        Call("source-page.unknown", "admin", "GET", "/-/files/source/nowhere", body="html"),
        Call("source-page.page-2", "admin", "GET", "/-/files/source/team?page=2", body="html"),
        Call("source-page.bad-page", "admin", "GET", "/-/files/source/team?page=x",
             body="html"),
        *per_actor("upload-page", "GET", "/-/files/upload/team", body="html"),
        Call("upload-page.member-private", "member", "GET", "/-/files/upload/private",
             body="html"),
        Call("upload-page.unknown", "admin", "GET", "/-/files/upload/nowhere", body="html"),
    ]


def updates() -> list[Call]:
    update = "/-/files/{report}/-/update"
    good = {"update": {"search_text": "quarterly figures"}}
    return [
        *per_actor("update", "POST", update, json=good),
        Call("update.member-private", "member", "POST", "/-/files/{csv}/-/update", json=good),
        Call("update.unknown", "admin", "POST", "/-/files/{unknown}/-/update", json=good),
        Call("update.bad-json", "admin", "POST", update, content=b"{",
             headers={"Content-Type": "application/json"}),
        Call("update.missing-update", "admin", "POST", update, json={}),
        Call("update.not-an-object", "admin", "POST", update, json={"update": "text"}),
        Call("update.unknown-field", "admin", "POST", update,
             json={"update": {"filename": "x.txt"}}),
        Call("search.search-text", "member", "GET", "/-/files/search.json?q=quarterly"),
    ]


def imports() -> list[Call]:
    start = "/-/files/import/{csv}"
    form = {"database_name": "data", "table_name": "imported"}
    return [
        Call("import-preview.admin", "admin", "GET", start, body="html"),
        Call("import-preview.member-private", "member", "GET", start, body="html"),
        Call("import-preview.anon", None, "GET", start, body="html"),
        Call("import-preview.unknown", "admin", "GET", "/-/files/import/{unknown}",
             body="html"),
        Call("import-preview.not-csv", "admin", "GET", "/-/files/import/{image}", body="html"),
        Call("import-start.form", "admin", "POST", start, form=form, body="html",
             save={"imp": import_of}),
        Call("import-start.form-accept-json", "admin", "POST", start,
             form={**form, "table_name": "imported_json"},
             headers={"Accept": "application/json"}, save={"imp_json": import_of}),
        Call("import-start.missing-table", "admin", "POST", start,
             form={"database_name": "data"}, headers={"Accept": "application/json"}),
        Call("import-start.unknown-database", "admin", "POST", start,
             form={"database_name": "nowhere", "table_name": "t"},
             headers={"Accept": "application/json"}),
        Call("import-start.table-exists", "admin", "POST", start, form=form,
             headers={"Accept": "application/json"}),
        Call("import-start.member-private", "member", "POST", start,
             form={**form, "table_name": "t2"}, headers={"Accept": "application/json"}),
    ]


def import_progress() -> list[Call]:
    """After both imports finished (the runner waits for them)."""
    progress = "/-/files/import/{csv}/{imp}"
    return [
        Call("import-progress.json", "admin", "GET", progress + ".json",
             values=("/status", "/row_count")),
        Call("import-progress.page", "admin", "GET", progress, body="html"),
        Call("import-progress.member-private", "member", "GET", progress + ".json"),
        Call("import-progress.unknown", "admin", "GET",
             "/-/files/import/{csv}/{missing_import}.json"),
    ]


def deletes() -> list[Call]:
    return [
        Call("delete.anon", None, "POST", "/-/files/{notes}/-/delete", json={}),
        Call("delete.other-member", "owner", "POST", "/-/files/{notes}/-/delete", json={}),
        Call("delete.member-private", "member", "POST", "/-/files/{csv}/-/delete", json={}),
        Call("delete.owner", "member", "POST", "/-/files/{notes}/-/delete", json={}),
        Call("delete.again", "member", "POST", "/-/files/{notes}/-/delete", json={}),
        Call("file-json.deleted", "member", "GET", "/-/files/{notes}.json"),
        Call("delete.admin", "admin", "POST", "/-/files/{image}/-/delete", json={}),
        Call("delete.unknown", "admin", "POST", "/-/files/{unknown}/-/delete", json={}),
        Call("delete.no-body", "admin", "POST", "/-/files/{unicode}/-/delete"),
        # Last: the reference ignores the body, so the file is gone on one side only.
        Call("delete.bad-json", "admin", "POST", "/-/files/{junk}/-/delete", content=b"{",
             headers={"Content-Type": "application/json"}),
    ]


BEFORE_IMPORTS_FINISH = [sources_and_index, uploads, reading_files, batch_and_search, pages,
                         updates, imports, upload_edge_cases]
AFTER_IMPORTS_FINISH = [import_progress, deletes]


def calls(parts) -> list[Call]:
    return [call for part in parts for call in part()]
