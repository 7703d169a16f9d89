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
