"""The shipped config and tables that hold files: an admin makes a column a
`file` column, and the team adds and edits rows through Datasette's row
dialogs (members get the edit-row control, only admins the delete-row one)."""

from support import api
from support.server import member_env


def test_the_team_edits_rows_that_hold_files(make_app):
    server = make_app(env={**member_env("admin", "admin-pass"), **member_env("bob", "bob-pass")})
    with server.login("admin", "admin-pass") as admin, server.login("bob", "bob-pass") as bob:
        created = admin.post("/data/-/create", json={
            "table": "attachments", "pk": "id",
            "columns": [{"name": "id", "type": "integer"}, {"name": "title", "type": "text"},
                        {"name": "attachment", "type": "text"}]})
        assert created.status_code == 201, created.text
        typed = admin.post("/data/attachments/-/set-column-type", json={
            "column": "attachment", "column_type": {"type": "file"}})
        assert typed.status_code == 200, typed.text
        # Members neither make tables nor change column types.
        assert bob.post("/data/-/create", json={
            "table": "mine", "columns": [{"name": "x"}]}).status_code == 403
        assert bob.post("/data/attachments/-/set-column-type", json={
            "column": "title", "column_type": {"type": "file"}}).status_code == 403

        first = api.upload(bob, "team", "first.txt", b"1")
        second = api.upload(bob, "team", "second.txt", b"2")
        inserted = bob.post("/data/attachments/-/insert", json={
            "row": {"title": "Contract", "attachment": first["id"]}})
        assert inserted.status_code == 201, inserted.text

        member_page = bob.get("/data/attachments").text
        admin_page = admin.get("/data/attachments").text
        for page in (member_page, admin_page):
            assert "table-insert-row" in page
            assert "row-inline-action-edit" in page
            assert f'<datasette-file file-id="{first["id"]}">' in page
        assert "row-inline-action-delete" not in member_page
        assert "row-inline-action-delete" in admin_page

        updated = bob.post("/data/attachments/1/-/update",
                           json={"update": {"attachment": second["id"]}})
        assert updated.status_code == 200, updated.text
        # The column still only takes files.
        refused = bob.post("/data/attachments/1/-/update",
                           json={"update": {"attachment": "not-a-file"}})
        assert refused.status_code == 400
        assert bob.post("/data/attachments/1/-/delete").status_code == 403
        assert admin.post("/data/attachments/1/-/delete").status_code == 200
