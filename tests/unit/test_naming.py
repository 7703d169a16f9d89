import datetime
import re

import pytest

from datasette_files.naming import FILE_ID_PATTERN
from datasette_files.naming import (
    content_type_for,
    display_filename,
    is_valid_content_type,
    new_file_id,
    new_upload_token,
    parse_storage_name,
    storage_name_time,
    storage_path,
)


def test_ids_and_tokens():
    file_id = new_file_id()
    assert re.fullmatch(FILE_ID_PATTERN, file_id) and file_id == file_id.lower()
    assert new_file_id() != file_id
    token = new_upload_token()
    assert token.startswith("tok_") and len(token) >= 50


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("photo.jpg", "photo.jpg"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1f.txt", "ab.txt"),
        ("..", ""),
        ("  spaced  ", "spaced"),
        ("名前.txt", "名前.txt"),
    ],
)
def test_display_filename(raw, shown):
    assert display_filename(raw) == shown


def test_long_names_keep_their_extension():
    shown = display_filename("x" * 1000 + ".pdf")
    assert len(shown) == 255 and shown.endswith(".pdf")


@pytest.mark.parametrize(
    "name,stored",
    [
        ("photo.jpg", "df-x-photo.jpg"),
        ("Résumé final.pdf", "df-x-Resume_final.pdf"),
        ("名前.txt", "df-x-txt"),
        ("....", "df-x-file"),
        ("$(rm -rf).sh", "df-x-rm_-rf_.sh"),
    ],
)
def test_storage_path(name, stored):
    assert storage_path("df-x", name) == stored


@pytest.mark.parametrize("value,valid", [
    ("image/jpeg", True), ("application/vnd.ms-excel", True), ("text/plain", True),
    ("text", False), ("text/html\r\nX: y", False), ("a b/c", False), ("", False)])
def test_content_types(value, valid):
    assert is_valid_content_type(value) is valid


def test_content_type_for():
    assert content_type_for("a.png", None) == "image/png"
    assert content_type_for("a.png", "Text/CSV; charset=utf-8") == "text/csv"
    assert content_type_for("noext", None) == "application/octet-stream"


@pytest.mark.parametrize("name", ["Café menu ü.pdf", "名前.txt", "x" * 300 + ".pdf", "....",
                                  "df-01m8shm9wsf4hj4mhwb4hke15n-nested.txt"])
def test_a_storage_name_gives_back_its_id_and_ascii_name(name):
    file_id = new_file_id()
    stored = storage_path(file_id, name)
    assert parse_storage_name(stored) == (file_id, stored.removeprefix(file_id + "-"))
    moment = storage_name_time(stored)
    assert moment <= datetime.datetime.now(datetime.timezone.utc)


@pytest.mark.parametrize("name", [
    "report.pdf", "df-01m8shm9wsf4hj4mhwb4hke15n", "df-01m8shm9wsf4hj4mhwb4hke15n-",
    "df-01M8SHM9WSF4HJ4MHWB4HKE15N-upper.txt",  # our ids are lowercase
    "df-81m8shm9wsf4hj4mhwb4hke15n-overflow.txt",  # past the largest ULID
    "df-01m8shm9wsf4hj4mhwb4hke15n-with space.txt",  # storage_path would not make it
    "df-01m8shm9wsf4hj4mhwb4hke15-short.txt"])
def test_other_names_are_not_ours(name):
    assert parse_storage_name(name) is None and storage_name_time(name) is None


@pytest.mark.parametrize("raw, shown", [
    ("résumé \u202egnp.exe", "résumé gnp.exe"),  # would read "résumé exe.png"
    ("a\u2066b\u2069c\u200e\u200f.txt", "abc.txt"),
    ("\u061c\u202a\u202b\u202c\u202d\u2067\u2068name.pdf", "name.pdf"),
    ("שלום.txt", "שלום.txt"),  # right-to-left letters themselves stay
])
def test_bidirectional_controls_are_dropped_so_a_name_cannot_fake_its_extension(raw, shown):
    assert display_filename(raw) == shown
