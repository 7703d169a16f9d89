"""A bad configuration stops start-up with a message naming the source and the fix."""


import pytest

from support.server import DatasetteServer, source_config


def start_fails(tmp_path, sources) -> str:
    server = DatasetteServer(tmp_path, {"plugins": {"datasette-files": {"sources": sources}}})
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert server.process.returncode == 1
    return str(failure.value)


def test_unknown_storage_type(tmp_path):
    log = start_fails(tmp_path, {"photos": {"storage": "nosuch", "config": {}}})
    assert "Error: datasette-files: source 'photos': unknown storage type 'nosuch'; " \
           "expected one of: filesystem, s3-compatible" in log
    assert "Traceback" not in log


def test_missing_storage_key(tmp_path):
    log = start_fails(tmp_path, {"photos": {"config": {"root": str(tmp_path)}}})
    assert "source 'photos': expected a 'storage' key" in log


def test_missing_root(tmp_path):
    log = start_fails(tmp_path, {"docs": {"storage": "filesystem", "config": {}}})
    assert "source 'docs': filesystem storage needs a 'root' key" in log


def test_root_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    log = start_fails(tmp_path, {"docs": source_config(tmp_path / "afile")})
    assert f"source 'docs': root '{tmp_path / 'afile'}' exists but is not a directory" in log


def test_root_that_cannot_be_created(tmp_path):
    (tmp_path / "afile").write_text("x")
    log = start_fails(tmp_path, {"docs": source_config(tmp_path / "afile" / "below")})
    assert "source 'docs': root" in log and "could not be created" in log


def test_root_that_is_not_writable(tmp_path, read_only_dir):
    log = start_fails(tmp_path, {"docs": source_config(read_only_dir)})
    assert f"source 'docs': root '{read_only_dir}' is not writable" in log


def test_duplicate_slug(tmp_path):
    log = start_fails(tmp_path, {
        "photos": source_config(tmp_path / "a"), "Photos": source_config(tmp_path / "b")})
    assert "source 'Photos': duplicate slug (clashes with 'photos')" in log


def test_bad_slug_and_bad_max_file_size(tmp_path):
    assert "a slug must be" in start_fails(tmp_path, {"no/slash": source_config(tmp_path)})
    assert "max_file_size must be a positive number of bytes" in start_fails(
        tmp_path, {"s": source_config(tmp_path / "s", max_file_size="big")})


def test_root_is_created_and_several_sources_work(tmp_path, make_server):
    server = make_server({
        "permissions": {"files-browse": True},
        "plugins": {"datasette-files": {"sources": {
            "a": source_config(tmp_path / "new" / "deep" / "a"),
            "b": source_config(tmp_path / "b")}}}})
    assert (tmp_path / "new" / "deep" / "a").is_dir()
    with server.client() as client:
        slugs = [s["slug"] for s in client.get("/-/files/sources.json").json()["sources"]]
    assert slugs == ["a", "b"]
