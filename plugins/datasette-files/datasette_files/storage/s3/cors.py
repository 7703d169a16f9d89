"""The bucket's CORS rules: what a browser on one of ``cors_origins`` needs to
PUT parts and files straight into the bucket and read them back (GET, HEAD,
POST for multipart, any request header, the ETag of each part exposed).

Without ``manage_cors`` the rules are only read, and one warning says what is
missing; with it, our rule (ID ``datasette-files``) is put beside the
bucket's other rules. Either way ``cors_ready`` says whether browsers can go
direct (uploads fall back to going through the server when they cannot).
"""

from __future__ import annotations

import fnmatch
import logging
from typing import Any, Sequence

from .errors import error_code

log = logging.getLogger("datasette_files")
RULE_ID = "datasette-files"
METHODS = ("PUT", "POST", "GET", "HEAD")
EXPOSED = ("ETag",)
MAX_AGE_SECONDS = 3600


def our_rule(origins: Sequence[str]) -> dict:
    """The CORS rule that lets browsers of ``origins`` transfer directly."""
    return {"ID": RULE_ID, "AllowedOrigins": list(origins), "AllowedMethods": list(METHODS),
            "AllowedHeaders": ["*"], "ExposeHeaders": list(EXPOSED),
            "MaxAgeSeconds": MAX_AGE_SECONDS}


def missing(rules: Sequence[dict], origins: Sequence[str]) -> list[str]:
    """What each origin lacks in ``rules``, in words; empty when all is there."""
    problems = []
    for origin in origins:
        matching = [rule for rule in rules
                    if any(fnmatch.fnmatchcase(origin, allowed)
                           for allowed in rule.get("AllowedOrigins", []))]
        if not matching:
            problems.append(f"no rule allows origin {origin}")
            continue
        methods = {m.upper() for rule in matching for m in rule.get("AllowedMethods", [])}
        lacking = [m for m in METHODS if m not in methods]
        if lacking:
            problems.append(f"origin {origin} may not {', '.join(lacking)}")
        if not any("*" in rule.get("AllowedHeaders", []) for rule in matching):
            problems.append(f"origin {origin} may not send any header (AllowedHeaders '*')")
        exposed = {h.lower() for rule in matching for h in rule.get("ExposeHeaders", [])}
        if not all(h.lower() in exposed for h in EXPOSED):
            problems.append(f"origin {origin} cannot read the ETag header (ExposeHeaders)")
    return problems


async def bucket_rules(client: Any, bucket: str) -> list[dict]:
    """The bucket's CORS rules ([] when it has none)."""
    from botocore.exceptions import ClientError

    try:
        answer = await client.get_bucket_cors(Bucket=bucket)
    except ClientError as ex:
        if error_code(ex) == "NoSuchCORSConfiguration":
            return []
        raise
    return answer.get("CORSRules", [])


async def prepare(client: Any, bucket: str, origins: Sequence[str], manage: bool) -> bool:
    """Check (or, with ``manage``, set) the bucket's CORS rules for ``origins``;
    whether browsers of every origin can now transfer directly. Never raises
    for the service's refusals: direct transfers are an optimisation."""
    if not origins:
        return False
    try:
        rules = await bucket_rules(client, bucket)
        problems = missing(rules, origins)
        if problems and manage:
            kept = [rule for rule in rules if rule.get("ID") != RULE_ID]
            await client.put_bucket_cors(Bucket=bucket, CORSConfiguration={
                "CORSRules": kept + [our_rule(origins)]})
            problems = missing(await bucket_rules(client, bucket), origins)
    except Exception as ex:
        log.warning("datasette-files: the CORS rules of bucket %s could not be %s (%s): "
                    "uploads and downloads go through the server", bucket,
                    "set" if manage else "read", error_code(ex) or type(ex).__name__)
        return False
    if problems:
        log.warning("datasette-files: bucket %s's CORS rules do not let browsers transfer "
                    "directly: %s. Add a rule allowing %s from %s with AllowedHeaders '*' and "
                    "ExposeHeaders ETag, or set manage_cors: true; until then uploads go "
                    "through the server", bucket, "; ".join(problems), "/".join(METHODS),
                    ", ".join(origins))
        return False
    return True
