"""Who may organise: folders, renames, moves and the trash, under each grant
form, for owners, and on read-only sources. Every refusal is a JSON 403."""

import itertools

import pytest

from support import api
from support.config import ADMIN, ALICE, BOB, OPEN_PERMISSIONS
from support.server import source_config

ACTORS = {"anonymous": None, "owner": ALICE, "other user": BOB, "admin": ADMIN}
ADMIN_ONLY = {"roles": "admin"}


def config(tmp_path, permissions, **settings):
    return {"permissions": permissions, "plugins": {"datasette-files": {**settings, "sources": {
        "pub": source_config(tmp_path / "pub"), "priv": source_config(tmp_path / "priv"),
        "frozen": {**source_config(tmp_path / "frozen"), "read_only": True}}}}}


@pytest.fixture
def seeded(make_server, tmp_path):
    """A data directory with alice's files (and a folder holding one of bob's),
    served again under each configuration a test asks for."""
    (tmp_path / "frozen" / "Old").mkdir(parents=True)
    (tmp_path / "frozen" / "Old" / "kept.txt").write_bytes(b"kept")
    server = make_server(config(tmp_path, {**OPEN_PERMISSIONS, "files-manage-sources": True}))
    files = {}
    with server.client(ALICE) as alice:
        for source in ("pub", "priv"):
            alice.post(f"/-/files/folders/{source}/-/create", json={"name": "Shared"})
            files[source] = [api.upload(alice, source, f"{source}-{n}.txt", b"x")
                             for n in range(12)]
        files["alice in shared"] = api.upload(alice, "pub", "a.txt", b"a", folder="Shared")
    with server.client(BOB) as bob:
        files["bob in shared"] = api.upload(bob, "pub", "b.txt", b"b", folder="Shared")
    api.wait_for_sync(server.client(), "frozen", hashed=False)

    def serve(permissions, **settings):
        server.stop()
        server.config = config(tmp_path, permissions, **settings)
        return server.start()

    return serve, files


def refused(response) -> bool:
    assert response.status_code in (200, 201, 403), (response.status_code, response.text)
    if response.status_code == 403:
        api.assert_api_error(response, 403)
    return response.status_code == 403


def who_may(server, attempt) -> set:
    allowed = set()
    for name, actor in ACTORS.items():
        with server.client(actor) as client:
            if not refused(attempt(client, name)):
                allowed.add(name)
    return allowed


def test_making_a_folder_needs_upload_on_the_source(seeded):
    serve, _ = seeded
    server = serve({"files-browse": True, "files-upload": {"pub": {"allow": True},
                                                           "priv": {"allow": ADMIN_ONLY}}})
    assert who_may(server, lambda c, n: c.post("/-/files/folders/pub/-/create",
                                               json={"name": f"by {n}"})) == set(ACTORS)
    assert who_may(server, lambda c, n: c.post("/-/files/folders/priv/-/create",
                                               json={"name": f"by {n}"})) == {"admin"}


def test_renaming_a_file_needs_edit_on_it_or_ownership(seeded):
    serve, files = seeded
    pool = iter(files["pub"])
    base = {"files-browse": True, "files-upload": True}
    server = serve({**base, "files-edit": ADMIN_ONLY})
    assert who_may(server, lambda c, n: c.post(f"/-/files/{next(pool)['id']}/-/rename",
                                               json={"filename": f"{n}.txt"})) == {"admin"}
    server = serve({**base, "files-edit": ADMIN_ONLY}, owners_can_edit=True)
    assert who_may(server, lambda c, n: c.post(f"/-/files/{next(pool)['id']}/-/rename",
                                               json={"filename": f"{n}.txt"})) == {
        "owner", "admin"}


def test_moving_a_file_needs_upload_on_the_destination(seeded):
    serve, files = seeded
    server = serve({"files-browse": True, "files-edit": True,
                    "files-upload": {"pub": {"allow": True}, "priv": {"allow": ADMIN_ONLY}}})
    to_priv, to_pub = iter(files["pub"]), iter(files["priv"])
    assert who_may(server, lambda c, n: c.post(f"/-/files/{next(to_priv)['id']}/-/move",
                                               json={"source": "priv"})) == {"admin"}
    assert who_may(server, lambda c, n: c.post(f"/-/files/{next(to_pub)['id']}/-/move",
                                               json={"source": "pub"})) == set(ACTORS)


def test_a_folder_change_needs_the_right_over_every_file_in_it(seeded):
    serve, files = seeded
    server = serve({"files-browse": True, "files-upload": True, "files-edit": ADMIN_ONLY,
                    "files-delete": ADMIN_ONLY}, owners_can_edit=True, owners_can_delete=True)
    with server.client(ALICE) as alice:  # bob's file is in it too
        api.assert_api_error(alice.post("/-/files/folders/pub/-/move",
                                        json={"path": "Shared", "name": "Mine"}), 403, "1 of")
        api.assert_api_error(alice.post("/-/files/folders/pub/-/delete",
                                        json={"path": "Shared"}), 403)
    with server.client(ADMIN) as admin:
        assert admin.post("/-/files/folders/pub/-/move",
                          json={"path": "Shared", "name": "Ours"}).status_code == 200
    with server.client(BOB) as bob:
        assert bob.post(f"/-/files/{files['bob in shared']['id']}/-/delete",
                        json={}).status_code == 200
    with server.client(ALICE) as alice:  # all hers now
        assert alice.post("/-/files/folders/pub/-/delete",
                          json={"path": "Ours"}).status_code == 200


def test_deleting_a_folder_needs_delete_not_upload(seeded):
    serve, _ = seeded
    server = serve({"files-browse": True, "files-delete": True})
    with server.client(BOB) as bob:
        deleted = bob.post("/-/files/folders/pub/-/delete", json={"path": "Shared"})
        assert deleted.status_code == 200, deleted.text
        api.assert_api_error(bob.post("/-/files/folders/pub/-/create", json={"name": "x"}), 403)


def test_the_trash_shows_owners_their_own_and_deleters_everything(seeded):
    serve, files = seeded
    server = serve({"files-browse": True, "files-delete": ADMIN_ONLY}, owners_can_delete=True)
    with server.client(ALICE) as alice:
        mine = alice.post(f"/-/files/{files['pub'][0]['id']}/-/delete", json={}).json()["trash"]
    with server.client(BOB) as bob:
        theirs = bob.post(f"/-/files/{files['bob in shared']['id']}/-/delete",
                          json={}).json()["trash"]
        assert [i["id"] for i in bob.get("/-/files/trash/pub.json").json()["items"]] == [
            theirs["id"]]
        api.assert_api_error(bob.post(mine["restore_url"], json={}), 404)
    with server.client(ADMIN) as admin:
        assert {i["id"] for i in admin.get("/-/files/trash/pub.json").json()["items"]} == {
            mine["id"], theirs["id"]}
    with server.client() as anonymous:
        api.assert_api_error(anonymous.get("/-/files/trash/pub.json"), 403)
    server = serve({"files-browse": True, "files-delete": ADMIN_ONLY})
    with server.client(ALICE) as alice:  # without owners_can_delete, not hers to see
        api.assert_api_error(alice.get("/-/files/trash/pub.json"), 403)
        assert alice.post(mine["restore_url"], json={}).status_code == 403


def test_a_read_only_source_refuses_every_change(seeded):
    serve, _ = seeded
    server = serve({**OPEN_PERMISSIONS, "files-manage-sources": True})
    with server.client(ADMIN) as admin:
        kept = admin.get("/-/files/search.json", params={"q": "kept"}).json()["files"][0]
        attempts = [
            ("/-/files/folders/frozen/-/create", {"name": "New"}),
            ("/-/files/folders/frozen/-/move", {"path": "Old", "name": "Older"}),
            ("/-/files/folders/frozen/-/delete", {"path": "Old"}),
            (f"/-/files/{kept['id']}/-/rename", {"filename": "x.txt"}),
            (f"/-/files/{kept['id']}/-/move", {"source": "pub"}),
            ("/-/files/trash/frozen/-/empty", {}),
            (f"/-/files/{kept['id']}/-/delete", {}),
            (f"/-/files/{kept['id']}/-/update", {"update": {"search_text": "x"}}),
        ]
        for url, body in attempts:
            api.assert_api_error(admin.post(url, json=body), 403, "read-only")
        pub_file = admin.get("/-/files/search.json", params={"q": "pub-11"}).json()["files"][0]
        api.assert_api_error(admin.post(f"/-/files/{pub_file['id']}/-/move",
                                        json={"source": "frozen"}), 403, "read-only")
        assert admin.get(kept["download_url"]).content == b"kept"
