"""botocore's errors as the storage contract's (``datasette_files.base``)."""

from __future__ import annotations

import contextlib
from typing import Iterator

from ...base import FileMissing, StorageUnavailable

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def error_code(ex: BaseException) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    response = getattr(ex, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_missing(ex: BaseException) -> bool:
    return error_code(ex) in MISSING_CODES


@contextlib.contextmanager
def translated(path: str) -> Iterator[None]:
    """FileMissing for a missing key; StorageUnavailable when the service cannot
    be reached or refuses us (credentials, a missing bucket); else as raised."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as ex:
        if is_missing(ex):
            raise FileMissing(f"no file at {path!r} in storage") from None
        code = error_code(ex)
        if code in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch", "403", "ServiceUnavailable", "SlowDown"):
            raise StorageUnavailable(f"the bucket answered {code}") from ex
        raise
    except BotoCoreError as ex:  # no connection, no credentials, a timeout
        raise StorageUnavailable(f"the bucket cannot be reached: {type(ex).__name__}") from ex
