"""The s3-compatible storage's pure parts: its configuration, object keys,
records in metadata, stored checksums and the CORS rule check."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sys

import pytest

from datasette_files.base import FileRecord, UnsafePath
from datasette_files.errors import ConfigError
from datasette_files.storage.s3 import S3CompatibleStorage, cors, keys, records
from datasette_files.storage.s3.config import normalise_prefix, read_config
from datasette_files.storage.s3.reads import full_object_sha256


def config(values: dict, secrets: dict | None = None):
    asked = []

    async def get_secret(name):
        asked.append(name)
        return (secrets or {}).get(name)

    return asyncio.run(read_config(values, get_secret)), asked


def test_a_minimal_config_uses_the_aws_chain(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    read, asked = config({"bucket": "team-files"})
    assert (read.bucket, read.prefix, read.region, read.endpoint_url) == (
        "team-files", "", None, None)
    assert read.credentials is None and asked == []
    assert read.client_arguments() == {}
    assert (read.cors_origins, read.manage_cors, read.part_size) == ((), False, 8 * 1024**2)
    assert read.timeout_seconds == 20


def test_credentials_come_from_named_secrets_and_never_show():
    read, asked = config({"bucket": "b-1", "region": "auto",
                          "endpoint_url": "https://x.r2.cloudflarestorage.com/",
                          "access_key_id_secret": "KEY", "secret_access_key_secret": "SECRET"},
                         {"KEY": "AKIA123", "SECRET": "very-secret"})
    assert asked == ["KEY", "SECRET"]
    assert read.client_arguments() == {
        "region_name": "auto", "endpoint_url": "https://x.r2.cloudflarestorage.com",
        "aws_access_key_id": "AKIA123", "aws_secret_access_key": "very-secret"}
    assert "very-secret" not in repr(read) and "AKIA123" not in repr(read)


@pytest.mark.parametrize("values, message", [
    ({}, "needs a 'bucket' key"),
    ({"bucket": "Bad_Name!"}, "needs a 'bucket' key"),
    ({"bucket": "b-1", "access_key_id": "AKIA"}, "'access_key_id' must not be in the config"),
    ({"bucket": "b-1", "aws_secret_access_key": "x"}, "must not be in the config file"),
    ({"bucket": "b-1", "access_key_id_secret": "K"}, "name both"),
    ({"bucket": "b-1", "access_key_id_secret": "K", "secret_access_key_secret": "S"},
     "names the secret 'K', which is not set"),
    ({"bucket": "b-1", "prefix": "a/../b"}, "plain folder names"),
    ({"bucket": "b-1", "endpoint_url": "ftp://x"}, "http:// or https:// URL"),
    ({"bucket": "b-1", "cors_origins": ["https://x.test/path"]}, "is not an origin"),
    ({"bucket": "b-1", "manage_cors": "yes"}, "true or false"),
    ({"bucket": "b-1", "part_size": 1024}, "at least 5242880"),
    ({"bucket": "b-1", "max_file_size": 10**12}, "a multipart upload has at most 10000 parts"),
    ({"bucket": "b-1", "timeout_seconds": 0}, "positive whole number of seconds"),
    ({"bucket": "b-1", "timeout_seconds": "5"}, "positive whole number of seconds"),
    ({"bucket": "b-1", "buckt": "typo"}, "unknown config key(s) 'buckt'"),
])
def test_bad_configs_are_refused_saying_why(values, message):
    with pytest.raises(ConfigError) as refused:
        config(values)
    assert message in str(refused.value)
    assert "AKIA" not in str(refused.value).replace("'access_key_id'", "")


@pytest.mark.parametrize("given, prefix", [
    (None, ""), ("", ""), ("/", ""), ("team", "team/"), ("/team/files/", "team/files/")])
def test_prefixes_end_in_a_slash(given, prefix):
    assert normalise_prefix(given) == prefix


def test_object_keys_are_paths_under_the_prefix():
    assert keys.object_key("team/", "a/b.txt") == "team/a/b.txt"
    assert keys.object_key("", "b.txt") == "b.txt"
    assert keys.folder_prefix("team/", "") == "team/"
    assert keys.folder_prefix("team/", "a/b") == "team/a/b/"
    assert keys.path_of("team/", "team/a/b.txt") == "a/b.txt"
    for key in ("other/a.txt", "team/a/", "team/a//b", "team/../x", "team/"):
        assert keys.path_of("team/", key) is None


@pytest.mark.parametrize("path", [
    "", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b", "a/",
    "x" * 1100])
def test_unsafe_paths_never_become_keys(path):
    with pytest.raises(UnsafePath):
        keys.object_key("team/", path)


def test_records_round_trip_through_ascii_metadata():
    record = FileRecord("Résumé – 2025 🎉.pdf", "application/pdf", "zoë")
    metadata = records.metadata_for("docs/df-01jq0000000000000000000000-Resume_-_2025.pdf",
                                    record)
    assert metadata["datasette-files-id"] == "df-01jq0000000000000000000000"
    assert all(value.isascii() for value in metadata.values())
    assert records.record_from(metadata) == record
    # A name that is not one we made has no id; a record too long is dropped.
    assert records.metadata_for("plan.txt", None) == {}
    assert records.metadata_for("plan.txt", FileRecord("é" * 400)) == {}
    for spoiled in ({}, {"datasette-files": "{"}, {"datasette-files": '{"filename": 3}'},
                    {"datasette-files": json.dumps({"filename": "a", "uploaded_by": []})}):
        assert records.record_from(spoiled) is None


def test_only_full_object_sha256_checksums_count():
    digest = hashlib.sha256(b"hello").digest()
    encoded = base64.b64encode(digest).decode()
    assert full_object_sha256(encoded, None, '"5d41402abc4b2a76b9719d911017c592"') == \
        "sha256:" + digest.hex()
    assert full_object_sha256(encoded, "FULL_OBJECT", '"abc"') == "sha256:" + digest.hex()
    assert full_object_sha256(encoded, None, '"abc-3"') is None  # multipart
    assert full_object_sha256(encoded + "-3", None, '"abc"') is None
    assert full_object_sha256(encoded, "COMPOSITE", '"abc"') is None
    assert full_object_sha256(None, None, '"abc"') is None
    assert full_object_sha256("not base64!", None, '"abc"') is None


def test_cors_rules_are_checked_per_origin():
    origin = "https://files.example.com"
    assert cors.missing([cors.our_rule([origin])], [origin]) == []
    assert cors.missing([], [origin]) == [f"no rule allows origin {origin}"]
    assert cors.missing([{"AllowedOrigins": ["https://*.example.com"],
                          "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
                          "AllowedHeaders": ["*"], "ExposeHeaders": ["etag"]}], [origin]) == []
    partial = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": [
        "content-type"]}
    assert cors.missing([partial], [origin]) == [
        f"origin {origin} may not PUT, POST, HEAD",
        f"origin {origin} may not send any header (AllowedHeaders '*')",
        f"origin {origin} cannot read the ETag header (ExposeHeaders)"]


def test_without_aiobotocore_configure_says_how_to_install_it(monkeypatch):
    # As if it were not installed: an import of it fails.
    for name in ("aiobotocore", "aiobotocore.session"):
        monkeypatch.setitem(sys.modules, name, None)

    async def get_secret(name):
        return None

    with pytest.raises(ConfigError) as refused:
        asyncio.run(S3CompatibleStorage().configure({"bucket": "b-1"}, get_secret))
    assert "pip install 'datasette-files[s3]'" in str(refused.value)


def test_aws_region_is_read_as_fly_sets_it(monkeypatch):
    # botocore itself reads only AWS_DEFAULT_REGION.
    monkeypatch.setenv("AWS_REGION", "auto")
    assert config({"bucket": "b-1"})[0].client_arguments() == {"region_name": "auto"}
    assert config({"bucket": "b-1", "region": "eu-west-1"})[0].region == "eu-west-1"


def test_a_stamped_id_is_read_back_only_if_it_is_one_of_ours():
    good = "df-01jq0000000000000000000007"
    assert records.file_id_from({records.FILE_ID_KEY: good}) == good
    for bad in ("df-01JQ0000000000000000000007", "df-1", "x" * 80, "", None, "df-01jq!"):
        assert records.file_id_from({records.FILE_ID_KEY: bad}) is None
    assert records.file_id_from({}) is None


def test_a_stamp_over_another_tools_metadata_drops_the_record_to_fit():
    # An object with another tool's metadata near S3's 2 KiB: the id still
    # goes in, the record (the part we can do without) does not.
    theirs = {"notes": "n" * 1950}
    stamped = {**theirs, **records.metadata_for(
        "notes.txt", FileRecord("notes.txt", "text/plain"), "df-01jq0000000000000000000007")}
    assert records.RECORD_KEY in stamped
    fitted = records.fitted(stamped)
    assert fitted == {**theirs, records.FILE_ID_KEY: "df-01jq0000000000000000000007"}
    small = records.metadata_for("notes.txt", FileRecord("notes.txt"),
                                 "df-01jq0000000000000000000007")
    assert records.fitted(small) == small
