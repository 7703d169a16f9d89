"""The permission matrix: each action x each grant form in the spec x each kind of actor.

One data directory is seeded once with files uploaded by alice (and one by
nobody), then the server restarts under each configuration in turn.
"""

import itertools

import pytest

from support.config import ADMIN, ALICE, BOB, OPEN_PERMISSIONS
from support import api
from support.server import DatasetteServer, source_config

ACTORS = {"anonymous": None, "owner": ALICE, "other user": BOB, "admin": ADMIN}
EVERYONE = set(ACTORS)
SOURCES = ("pub", "priv")


def grant_forms(action):
    """The spec's grant forms, each with who it allows on (pub, priv)."""
    return {
        "true": ({action: True}, (EVERYONE, EVERYONE)),
        "actor id": ({action: {"id": "alice"}}, ({"owner"}, {"owner"})),
        "role": ({action: {"roles": "admin"}}, ({"admin"}, {"admin"})),
        "role list": ({action: {"roles": ["admin", "editor"]}}, ({"admin"}, {"admin"})),
        "per source": (
            {action: {"pub": {"allow": True}, "priv": {"allow": {"id": "alice"}}}},
            (EVERYONE, {"owner"}),
        ),
        "nothing": ({}, (set(), set())),
    }


class Seeded:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.server = None
        self.fresh = {source: [] for source in SOURCES}
        self.anonymous_file = None

    def serve(self, permissions, **plugin_settings):
        if self.server:
            self.server.stop()
        config = {
            "permissions": permissions,
            "plugins": {"datasette-files": {
                **plugin_settings,
                "sources": {s: source_config(self.data_dir / s) for s in SOURCES},
            }},
        }
        self.server = DatasetteServer(self.data_dir, config).start()
        return self.server

    def take_file(self, source):
        """A file of alice's not used by an earlier check (deletes consume them)."""
        return self.fresh[source].pop()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    seeded = Seeded(tmp_path_factory.mktemp("matrix"))
    server = seeded.serve(OPEN_PERMISSIONS)
    with server.client(ALICE) as alice:
        for source, n in itertools.product(SOURCES, range(30)):
            seeded.fresh[source].append(api.upload(alice, source, f"{source}-{n}.txt", b"x"))
    with server.client() as anonymous:
        seeded.anonymous_file = api.upload(anonymous, "pub", "nobodys.txt", b"x")
    yield seeded
    seeded.server.stop()


def can_browse(client, file):
    status = client.get(f"/-/files/{file['id']}.json").status_code
    listed = any(
        f["id"] == file["id"]
        for f in client.get("/-/files/search.json", params={"q": file["filename"]}).json()["files"]
    )
    downloaded = client.get(file["download_url"]).status_code
    batch = client.get("/-/files/batch.json", params={"id": file["id"]}).json()["files"]
    verdicts = {status == 200, listed, downloaded == 200, file["id"] in batch}
    assert len(verdicts) == 1, "JSON, search, download and batch disagree"
    assert status in (200, 404) and downloaded in (200, 404)
    return verdicts.pop()


def can_upload(client, source):
    """Through prepare and through the one-request PUT, which must agree."""
    status = api.prepare(client, source, "new.txt", 1).status_code
    put = client.put(f"/-/files/upload/{source}/new.txt", content=b"x").status_code
    assert (status, put) in ((200, 201), (403, 403)), (status, put)
    return status == 200


def can_edit(client, file):
    response = client.post(f"/-/files/{file['id']}/-/update",
                           json={"update": {"search_text": "edited"}})
    assert response.status_code in (200, 403), response.text
    return response.status_code == 200


def can_delete(client, file):
    response = client.post(f"/-/files/{file['id']}/-/delete", json={})
    assert response.status_code in (200, 403), response.text
    return response.status_code == 200


def check_action(seeded, action, server):
    """{source: set of actor names allowed} for ``action`` on each source."""
    allowed = {source: set() for source in SOURCES}
    for source, (name, actor) in itertools.product(SOURCES, ACTORS.items()):
        with server.client(actor) as client:
            if action == "files-browse":
                verdict = can_browse(client, seeded.fresh[source][0])
            elif action == "files-upload":
                verdict = can_upload(client, source)
            elif action == "files-edit":
                verdict = can_edit(client, seeded.fresh[source][0])
            else:
                file = seeded.fresh[source][-1]
                verdict = can_delete(client, file)
                if verdict:
                    seeded.take_file(source)
        if verdict:
            allowed[source].add(name)
    return allowed


@pytest.mark.parametrize("action", ["files-browse", "files-upload", "files-edit", "files-delete"])
@pytest.mark.parametrize("form", list(grant_forms("x")))
def test_grant_form(seeded, action, form):
    permissions, (on_pub, on_priv) = grant_forms(action)[form]
    if action in ("files-edit", "files-delete"):
        # Seeing a file comes first; this grant decides the action itself.
        permissions = {"files-browse": True, **permissions}
    server = seeded.serve(permissions)
    assert check_action(seeded, action, server) == {"pub": on_pub, "priv": on_priv}


@pytest.mark.parametrize("action,setting", [("files-edit", "owners_can_edit"),
                                            ("files-delete", "owners_can_delete")])
def test_owners_can_act_on_their_own_files(seeded, action, setting):
    permissions = {"files-browse": True, action: {"roles": "admin"}}
    server = seeded.serve(permissions, **{setting: True})
    assert check_action(seeded, action, server) == {
        "pub": {"owner", "admin"}, "priv": {"owner", "admin"}}
    # Without the setting, the owner is like anyone else.
    server = seeded.serve(permissions)
    assert check_action(seeded, action, server) == {"pub": {"admin"}, "priv": {"admin"}}


def test_anonymous_uploads_have_no_owner(seeded):
    server = seeded.serve({"files-browse": True, "files-delete": {"roles": "admin"}},
                          owners_can_delete=True)
    file = seeded.anonymous_file
    for actor in (None, BOB, ALICE):
        with server.client(actor) as client:
            assert not can_delete(client, file)
    with server.client(ADMIN) as admin:
        assert can_delete(admin, file)


def test_sources_json_lists_only_what_the_actor_may_use(seeded):
    server = seeded.serve({
        "files-browse": {"pub": {"allow": True}},
        "files-upload": {"priv": {"allow": {"id": "alice"}}},
    })
    def slugs(actor):
        with server.client(actor) as client:
            return {s["slug"]: (s["actor_can_browse"], s["actor_can_upload"])
                    for s in client.get("/-/files/sources.json").json()["sources"]}
    assert slugs(None) == {"pub": (True, False)}
    assert slugs(ALICE) == {"pub": (True, False), "priv": (False, True)}


def test_api_tokens_drive_the_whole_api(seeded):
    """Datasette's signed tokens, sent as Authorization: Bearer, act as their actor."""
    from support.server import api_token

    server = seeded.serve({"files-browse": {"id": "alice"}, "files-upload": {"id": "alice"},
                           "files-edit": {"id": "alice"}, "files-delete": {"id": "alice"}})
    headers = {"Authorization": f"Bearer {api_token('alice')}"}
    with server.client(headers=headers) as client:
        file = api.upload(client, "pub", "token-upload.txt", b"via token")
        assert file["uploaded_by"] == "alice"
        assert client.get(file["download_url"]).content == b"via token"
        assert client.get("/-/files/search.json", params={"q": "token-upload"}).json()["total"] == 1
        assert can_edit(client, file) and can_delete(client, file)
    with server.client(headers={"Authorization": f"Bearer {api_token('bob')}"}) as bob:
        assert api.prepare(bob, "pub", "x.txt", 1).status_code == 403


# The instance's view-instance ------------------------------------------------------

FAKE_ID = "df-00000000000000000000000000"
JSON, PAGE = "json", "page"
# One request for every route the plugin registers, and how a refusal answers it:
# pages with an HTML page, everything else (and pages asked for JSON) with JSON.
EVERY_ROUTE = [
    ("GET", "/-/files", PAGE),
    ("GET", "/-/files/search?q=x", PAGE),
    ("GET", "/-/files/source/pub", PAGE),
    ("GET", "/-/files/upload/pub", PAGE),
    ("GET", "/-/files/trash/pub", PAGE),
    ("GET", "/-/files/{id}", PAGE),
    ("GET", "/-/files/import/{id}", PAGE),
    ("POST", "/-/files/import/{id}", JSON),
    ("GET", "/-/files/import/{id}/imp-0abc", PAGE),
    ("GET", "/-/files/import/{id}/imp-0abc.json", JSON),
    ("GET", "/-/files/icon.svg?type=text/plain", JSON),
    ("GET", "/-/files/openapi.json", JSON),
    ("GET", "/-/files/search.json?q=x", JSON),
    ("GET", "/-/files/batch.json?id={id}", JSON),
    ("GET", "/-/files/-/preferences", JSON),
    ("POST", "/-/files/-/preferences", JSON),
    ("POST", "/-/files/-/delete", JSON),
    ("POST", "/-/files/-/move", JSON),
    ("GET", "/-/files/-/zip?id={id}", JSON),
    ("POST", "/-/files/-/zip", JSON),
    ("GET", "/-/files/sources.json", JSON),
    ("GET", "/-/files/source/pub.json", JSON),
    ("GET", "/-/files/source/pub/-/changes", JSON),
    ("POST", "/-/files/sync/pub", JSON),
    ("GET", "/-/files/sync/pub.json", JSON),
    ("POST", "/-/files/upload/pub/-/prepare", JSON),
    ("POST", "/-/files/upload/pub/-/upload", JSON),
    ("GET", "/-/files/upload/pub/-/upload", JSON),
    ("POST", "/-/files/upload/pub/-/complete", JSON),
    ("POST", "/-/files/upload/pub/-/parts", JSON),
    ("POST", "/-/files/upload/pub/-/batch", JSON),
    ("PUT", "/-/files/upload/pub/new.txt", JSON),
    ("GET", "/-/files/{id}.json", JSON),
    ("GET", "/-/files/{id}/download", JSON),
    ("HEAD", "/-/files/{id}/download", JSON),
    ("GET", "/-/files/{id}/thumbnail", JSON),
    ("HEAD", "/-/files/{id}/thumbnail", JSON),
    ("GET", "/-/files/{id}/-/media", JSON),
    ("HEAD", "/-/files/{id}/-/media", JSON),
    ("GET", "/-/files/{id}/-/image", JSON),
    ("HEAD", "/-/files/{id}/-/image", JSON),
    ("GET", "/-/files/{id}/-/pdf-page/1", JSON),
    ("HEAD", "/-/files/{id}/-/pdf-page/1", JSON),
    ("POST", "/-/files/{id}/-/delete", JSON),
    ("POST", "/-/files/{id}/-/update", JSON),
    ("POST", "/-/files/{id}/-/move", JSON),
    ("POST", "/-/files/{id}/-/rename", JSON),
    ("GET", "/-/files/folders/pub.json", JSON),
    ("POST", "/-/files/folders/pub/-/create", JSON),
    ("POST", "/-/files/folders/pub/-/move", JSON),
    ("POST", "/-/files/folders/pub/-/delete", JSON),
    ("GET", "/-/files/trash/pub.json", JSON),
    ("POST", "/-/files/trash/pub/-/empty", JSON),
    ("POST", "/-/files/trash/pub/tr-0abc/-/restore", JSON),
    ("POST", "/-/files/trash/pub/tr-0abc/-/purge", JSON),
]


def test_every_route_is_in_the_list():
    """A route added to the plugin must be added above, or the checks below miss it."""
    import re

    from datasette_files.plugin import register_routes

    paths = [path.format(id=FAKE_ID).split("?")[0] for _, path, _ in EVERY_ROUTE]
    for pattern, _ in register_routes(datasette=None):
        assert any(re.match(pattern, path) for path in paths), f"no request for {pattern}"


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """Everyone may do everything with files, but only alice may view the instance."""
    data = tmp_path_factory.mktemp("closed")
    server = DatasetteServer(data, {
        "allow": {"id": "alice"},
        "permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
        "plugins": {"datasette-files": {"sources": {"pub": source_config(data / "pub")}}},
    })
    server.ready_path = "/favicon.ico"  # anonymous visitors may fetch nothing else
    server.start()
    with server.client(ALICE) as alice:
        server.file = api.upload(alice, "pub", "notes.csv", b"a,b\n1,2\n", "text/csv")
    yield server
    server.stop()


def request(client, method, path, file_id):
    kwargs = {"json": {}} if method in ("POST", "PUT") and "-/upload" not in path else {}
    if path.endswith("-/upload") and method == "POST":
        kwargs = {"content": b"x", "headers": {"X-Upload-Token": "t"}}
    return client.request(method, path.format(id=file_id), **kwargs)


@pytest.mark.parametrize("actor", [None, BOB], ids=["anonymous", "not allowed in"])
@pytest.mark.parametrize("method,path,kind", EVERY_ROUTE, ids=lambda v: str(v))
def test_a_closed_instance_refuses_every_route(closed, actor, method, path, kind):
    with closed.client(actor) as client:
        response = request(client, method, path, closed.file["id"])
    assert response.status_code == 403, response.text[:300]
    if method == "HEAD":
        return
    if kind == JSON:
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["ok"] is False and body["errors"], body
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert 'href="/-/login"' in response.text


def test_a_closed_instance_serves_those_allowed_in(closed):
    file = closed.file
    with closed.client(ALICE) as alice:
        for path in ("/-/files", "/-/files/search?q=notes", f"/-/files/{file['id']}",
                     f"/-/files/import/{file['id']}", "/-/files/sources.json",
                     "/-/files/search.json?q=notes", file["download_url"]):
            assert alice.get(path).status_code == 200, path
        assert [f["id"] for f in alice.get("/-/files/search.json").json()["files"]] == [file["id"]]


def test_an_open_instance_serves_anonymous_visitors_what_they_may_browse(seeded):
    server = seeded.serve({"files-browse": {"pub": {"allow": True}}})
    with server.client() as anonymous:
        assert anonymous.get("/-/files").status_code == 200
        assert anonymous.get("/-/files/source/pub").status_code == 200
        assert anonymous.get("/-/files/source/priv").status_code == 403
        found = anonymous.get("/-/files/search.json", params={"q": "pub-1"}).json()["files"]
        assert found and {f["source_slug"] for f in found} == {"pub"}
        assert anonymous.get(found[0]["download_url"]).status_code == 200


def test_the_files_index_refuses_those_who_may_browse_no_source(seeded):
    server = seeded.serve({"files-browse": {"id": "alice"}})
    for actor in (None, BOB):
        with server.client(actor) as client:
            index = client.get("/-/files")
            assert index.status_code == 403
            assert "no file sources you may browse" in index.text
    with server.client() as anonymous:
        assert 'href="/-/login"' in anonymous.get("/-/files").text
    with server.client(ALICE) as alice:
        assert alice.get("/-/files").status_code == 200
