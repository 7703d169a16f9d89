"""Settings are checked at start-up; hashing outlives a storage that fails."""

import asyncio

import pytest

from datasette_files.base import Storage, StorageCapabilities, StorageUnavailable
from datasette_files.errors import ConfigError
from datasette_files.hashing import MAX_HASH_RETRY_SECONDS, hash_stored_files, retry_delay
from datasette_files.settings import Settings


@pytest.mark.parametrize("key,value", [
    ("upload_chunk_size", 0), ("upload_chunk_size", "lots"), ("upload_expiry_seconds", -5),
    ("thumbnail_timeout_seconds", True), ("min_free_space", -1), ("min_free_space", "full"),
    ("temp_sweep_interval_seconds", "often")])
def test_a_setting_that_is_not_a_positive_number_stops_start_up_naming_it(key, value):
    with pytest.raises(ConfigError, match=key):
        Settings.from_config({key: value})


def test_settings_default_and_accept_numbers():
    settings = Settings.from_config({"upload_chunk_size": 1024, "thumbnail_timeout_seconds": "2.5"})
    assert settings.upload_chunk_size == 1024 and settings.thumbnail_timeout_seconds == 2.5
    assert Settings.from_config({}).sync_on_start is True


def test_the_free_space_floor_defaults_to_the_largest_default_file_and_0_turns_it_off():
    assert Settings.from_config({}).min_free_space == 100 * 1024 * 1024
    assert Settings.from_config({"min_free_space": 0}).min_free_space == 0


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


class FlakyInPlace(Flaky):
    """Hashes in place, but one unreadable file fails the whole batch."""

    async def content_hashes(self, paths):
        return {path: f"sha256:{(await self.read_file(path)).hex()}" for path in paths}


def test_a_file_that_spoils_a_batch_hashed_in_place_fails_alone():
    digests = asyncio.run(hash_stored_files(FlakyInPlace(), ["ok", "odd", "down"]))
    assert digests == {"ok": "sha256:616263", "odd": None, "down": None}


def test_hashing_is_retried_later_each_time_up_to_a_day():
    assert [retry_delay(failures, 60) for failures in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(10_000, 60) == MAX_HASH_RETRY_SECONDS == 24 * 60 * 60
