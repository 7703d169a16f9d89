"""The bucket source the environment makes (Tigris on Fly.io, any S3 service)."""

from pathlib import Path

import pytest

from app.bucket_source import add_bucket_source, bucket_source, public_origin
from app.config import ConfigProblem, prepare_config
from app.datadir import DataDir


def test_no_bucket_in_the_environment_adds_nothing():
    assert bucket_source({}) is None
    assert bucket_source({"AWS_ACCESS_KEY_ID": "x", "BUCKET_NAME": "  "}) is None


def test_tigris_variables_make_a_bucket_source_with_cors_for_the_fly_address():
    env = {"BUCKET_NAME": "team-files-a1", "AWS_ACCESS_KEY_ID": "tid_secret",
           "AWS_SECRET_ACCESS_KEY": "tsec_secret", "AWS_ENDPOINT_URL_S3": "https://fly.storage.tigris.dev",
           "AWS_REGION": "auto", "FLY_APP_NAME": "team-files"}
    slug, source = bucket_source(env)
    assert slug == "bucket"
    assert source == {"storage": "s3-compatible", "config": {
        "bucket": "team-files-a1", "cors_origins": ["https://team-files.fly.dev"],
        "manage_cors": True}}
    # Credentials stay in the environment, where the storage reads them.
    assert "secret" not in repr(source)


def test_files_bucket_wins_and_names_prefix_slug_and_origin():
    env = {"BUCKET_NAME": "other", "FILES_BUCKET": "media", "FILES_BUCKET_PREFIX": "team/",
           "FILES_BUCKET_SOURCE": "cloud", "PUBLIC_URL": "HTTPS://Files.Example.com/some/path",
           "FILES_BUCKET_MANAGE_CORS": "0"}
    assert bucket_source(env) == ("cloud", {"storage": "s3-compatible", "config": {
        "bucket": "media", "prefix": "team/", "cors_origins": ["https://files.example.com"],
        "manage_cors": False}})


@pytest.mark.parametrize("env, problem", [
    ({"FILES_BUCKET": "b", "FILES_BUCKET_SOURCE": "no spaces"}, "FILES_BUCKET_SOURCE"),
    ({"FILES_BUCKET": "b", "PUBLIC_URL": "files.example.com"}, "PUBLIC_URL"),
])
def test_bad_settings_are_refused_naming_the_variable(env, problem, tmp_path):
    with pytest.raises(ConfigProblem, match=problem):
        prepare_config({}, DataDir(tmp_path), env, create_admin=False)


def test_a_source_of_that_slug_in_the_config_file_wins():
    files = {"sources": {"bucket": {"storage": "filesystem", "config": {"root": "x"}}}}
    assert add_bucket_source(files, {"BUCKET_NAME": "b"}) is None
    assert files["sources"]["bucket"]["storage"] == "filesystem"


def test_prepare_config_adds_it_beside_the_configured_sources(tmp_path):
    raw = {"plugins": {"datasette-files": {"sources": {
        "team": {"storage": "filesystem", "config": {"root": "files/team"}}}}}}
    prepared = prepare_config(raw, DataDir(tmp_path), {"BUCKET_NAME": "b"}, create_admin=False)
    sources = prepared.config["plugins"]["datasette-files"]["sources"]
    assert list(sources) == ["team", "bucket"]
    assert sources["team"]["config"]["root"] == str(tmp_path / "files/team")
    assert "bucket" not in raw["plugins"]["datasette-files"]["sources"]  # the file's dict untouched


def test_without_a_public_address_cors_is_left_to_the_bucket():
    assert public_origin({}) is None
    assert "cors_origins" not in bucket_source({"BUCKET_NAME": "b"})[1]["config"]
