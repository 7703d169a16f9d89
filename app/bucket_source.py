"""A bucket source made from the environment: how the container and Fly.io
(with Tigris) store files in object storage without editing the config file.

`fly storage create` sets BUCKET_NAME and the AWS_* variables on the app; any
other S3-compatible service takes the same variables (FILES_BUCKET names the
bucket when BUCKET_NAME means something else). The storage reads endpoint,
region and credentials from the AWS_* variables itself, so no secret passes
through the configuration.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

DEFAULT_SLUG = "bucket"
STORAGE_TYPE = "s3-compatible"
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def bucket_source(env: Mapping[str, str]) -> Optional[tuple[str, dict]]:
    """``(slug, source config)`` for the bucket the environment names, or None.

    FILES_BUCKET (else BUCKET_NAME) names the bucket, FILES_BUCKET_PREFIX a
    prefix inside it, FILES_BUCKET_SOURCE the source's slug ("bucket"). The
    bucket's CORS rules are set for the server's public address (PUBLIC_URL,
    or https://$FLY_APP_NAME.fly.dev on Fly.io), so browsers upload straight
    to the bucket; FILES_BUCKET_MANAGE_CORS=0 leaves the rules alone."""
    bucket = (env.get("FILES_BUCKET") or env.get("BUCKET_NAME") or "").strip()
    if not bucket:
        return None
    slug = (env.get("FILES_BUCKET_SOURCE") or DEFAULT_SLUG).strip()
    if not SLUG.match(slug):
        raise ValueError(f"FILES_BUCKET_SOURCE: {slug!r} is not a source slug "
                            "(1-64 letters, digits, '-' or '_')")
    config: dict = {"bucket": bucket}
    prefix = (env.get("FILES_BUCKET_PREFIX") or "").strip()
    if prefix:
        config["prefix"] = prefix
    origin = public_origin(env)
    if origin:
        config["cors_origins"] = [origin]
        config["manage_cors"] = env.get("FILES_BUCKET_MANAGE_CORS", "1").strip() not in (
            "0", "false", "no")
    return slug, {"storage": STORAGE_TYPE, "config": config}


def public_origin(env: Mapping[str, str]) -> Optional[str]:
    """The origin browsers load the server from, when the environment says."""
    url = (env.get("PUBLIC_URL") or "").strip().rstrip("/")
    if url:
        match = re.match(r"^(https?://[^/?#\s]+)", url, re.IGNORECASE)
        if not match:
            raise ValueError(f"PUBLIC_URL: {url!r} is not an http(s) address")
        return match.group(1).lower()
    fly_app = (env.get("FLY_APP_NAME") or "").strip()
    if fly_app:
        return f"https://{fly_app}.fly.dev"
    return None


def add_bucket_source(files_config: dict, env: Mapping[str, str]) -> Optional[str]:
    """Add the environment's bucket source to datasette-files' config; a source
    of that slug in the config file wins. Returns the slug added, if any."""
    found = bucket_source(env)
    if found is None:
        return None
    slug, source = found
    sources = files_config.get("sources")
    if sources is None:
        sources = files_config["sources"] = {}
    if slug in sources:
        return None
    sources[slug] = source
    return slug
