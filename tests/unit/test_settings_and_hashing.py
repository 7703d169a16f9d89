"""Settings are checked at start-up; hashing outlives a storage that fails."""

import asyncio

import pytest

from datasette_files.base import Storage, StorageCapabilities, StorageUnavailable
from datasette_files.errors import ConfigError
from datasette_files.hashing import hash_stored_files
from datasette_files.settings import Settings


@pytest.mark.parametrize("key,value", [
    ("upload_chunk_size", 0), ("upload_chunk_size", "lots"), ("upload_expiry_seconds", -5),
    ("thumbnail_timeout_seconds", True), ("temp_sweep_interval_seconds", "often")])
def test_a_setting_that_is_not_a_positive_number_stops_start_up_naming_it(key, value):
    with pytest.raises(ConfigError, match=key):
        Settings.from_config({key: value})


def test_settings_default_and_accept_numbers():
    settings = Settings.from_config({"upload_chunk_size": 1024, "thumbnail_timeout_seconds": "2.5"})
    assert settings.upload_chunk_size == 1024 and settings.thumbnail_timeout_seconds == 2.5
    assert Settings.from_config({}).sync_on_start is True


class Flaky(Storage):
    """The specification's methods only; one file cannot be read right now."""

    storage_type = "flaky"
    capabilities = StorageCapabilities()

    async def configure(self, config, get_secret):
        pass

    async def get_file_metadata(self, path):
        return None

    async def read_file(self, path):
        if path == "down":
            raise StorageUnavailable("the bucket stopped answering")
        if path == "odd":
            raise RuntimeError("a plugin's own error")
        return b"abc"


def test_a_file_a_storage_cannot_read_gets_no_hash_and_the_others_do():
    digests = asyncio.run(hash_stored_files(Flaky(), ["ok", "down", "odd"]))
    assert digests == {
        "ok": "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "down": None, "odd": None}
