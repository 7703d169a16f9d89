"""What schemathesis runs beside its own checks (loaded through
SCHEMATHESIS_HOOKS in schemathesis' virtualenv; the test suite never imports
it): every error a described operation answers is the JSON error shape with a
4xx, and no query is sent that the HTTP server refuses before the API sees it.
"""

import urllib.parse

import schemathesis

# uvicorn refuses much longer queries (a request line of some 1,500 parameters)
# itself, with a plain-text 400, before any Datasette code runs.
MAX_QUERY_BYTES = 4096


@schemathesis.check
def errors_are_json_4xx(ctx, response, case):
    if response.status_code < 400 or case.method.upper() != case.operation.method.upper():
        return None  # a method the description leaves out may be a page's (HTML)
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code}: a server error")
    content_type = response.headers.get("content-type", [""])[0]
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{response.status_code} answered {content_type or 'no type'}, "
                             "not JSON")
    body = response.json()
    if not isinstance(body, dict):
        raise AssertionError(f'not {{"ok": false, "errors": [...]}}: {body!r}')
    errors = body.get("errors")
    if body.get("ok") is not False or not errors or not all(
            isinstance(message, str) and message for message in errors):
        raise AssertionError(f'not {{"ok": false, "errors": [...]}}: {body!r}')
    return None


@schemathesis.hook
def filter_query(ctx, query):
    return not query or len(urllib.parse.urlencode(query, doseq=True)) <= MAX_QUERY_BYTES
