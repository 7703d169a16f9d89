"""Timestamps as the registry stores them: UTC, "YYYY-MM-DD HH:MM:SS"."""

from __future__ import annotations

import datetime

FORMAT = "%Y-%m-%d %H:%M:%S"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(FORMAT)


def parse_timestamp(value: str) -> datetime.datetime:
    # fromisoformat reads FORMAT, and far faster than strptime (every download asks).
    return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.timezone.utc)


def now_timestamp() -> str:
    return format_timestamp(utc_now())
