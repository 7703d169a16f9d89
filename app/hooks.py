"""The application's own Datasette hooks, registered by `serve` only."""

from __future__ import annotations

import asyncio

import datasette_files
from datasette import Response, hookimpl
from datasette.utils.asgi import Base400
# As a module: a hook implementation imported by name would be registered as ours.
from datasette.default_permissions import tokens as datasette_tokens
from datasette.tokens import SignedTokenHandler

from .account import sign_member_out, sign_out_everywhere
from .config import AUTH_PLUGIN
from .login import login, logout
from .login_state import login_state
from .sessions import SESSION_COOKIE

CHECK_TIMEOUT_SECONDS = 5
# Who sees which health check failed and why (database and source names, storage
# paths in errors, free space): those who may view the instance and sync its
# sources, granted for the whole instance rather than per source (the shipped
# config's admins). Someone who manages one source must not read about the others.
DETAIL_ACTIONS = ("view-instance", "files-manage-sources")


@hookimpl(tryfirst=True)
async def actor_from_request(datasette, request):
    """The actor from a live login session or an API token, with the roles the
    configuration gives that member now.

    Roles live in the config, not in credentials: an API token carries only an
    id, and a cookie keeps whatever roles its login had. Someone no longer on
    the team keeps their id but has no roles, and so no access.
    """
    sessions = login_state(datasette).sessions
    actor = await datasette_tokens.actor_from_signed_api_token(datasette, request)
    if actor and actor.get("id") is not None:
        # A token made before its member signed out everywhere (or got a new
        # password) no longer holds.
        created = sessions.token_created(request.headers.get("authorization"))
        if created is not None and not await sessions.token_allowed(str(actor["id"]), created):
            return None
    else:
        actor = await sessions.actor(request.cookies.get(SESSION_COOKIE))
    if not actor or actor.get("id") is None:
        return None
    # Straight from the config, not plugin_config(): that resolves $env secrets
    # on every call, and roles are never secrets.
    plugins = (datasette.config or {}).get("plugins") or {}
    team = (plugins.get(AUTH_PLUGIN) or {}).get("actors") or {}
    member = team.get(str(actor["id"])) or {}
    return {**actor, "roles": list(member.get("roles") or [])}


@hookimpl
def register_token_handler(datasette):
    # Datasette's signed tokens (dstok_), as the module serve() unregisters
    # registered them; actor_from_request above is the one that accepts them.
    return SignedTokenHandler()


@hookimpl(tryfirst=True)
def register_routes():
    # First, so these /-/login and /-/logout are matched before those of
    # datasette-auth-passwords and Datasette.
    return [
        (r"^/-/health$", health),
        (r"^/-/login$", login),
        (r"^/-/logout$", logout),
        (r"^/-/sign-out-everywhere$", sign_out_everywhere),
        (r"^/-/members/(?P<member>[^/]+)/sign-out$", sign_member_out),
    ]


@hookimpl
def handle_exception(datasette, request, exception):
    """Datasette's own error pages (an unknown database, a bad query), rendered
    with the request so that the header keeps the member's name and menu.
    The files pages have their own (datasette_files' hook); JSON and CSV
    answers, and unexpected errors, stay Datasette's."""
    path = request.path
    if (not isinstance(exception, Base400) or path.endswith((".json", ".csv"))
            or path == "/-/files" or path.startswith("/-/files/")):
        return None

    async def page():
        status = exception.status
        return Response.html(await datasette.render_template(
            [f"{status}.html", "error.html"],
            {"ok": False, "status": status, "title": None,
             "error": exception.args[0] if exception.args else ""},
            request=request), status=status)

    return page()


@hookimpl
def menu_links(datasette, actor):
    # The account page: log out here or everywhere.
    if actor:
        return [{"href": datasette.urls.logout(), "label": "Your login"}]


async def health(datasette, request):
    """200 ``{"ok": true}`` when every database answers and every source's
    storage works, else 503 ``{"ok": false}``: all that anonymous callers (Fly's
    check) and members learn.

    Callers allowed every one of DETAIL_ACTIONS also get each check's outcome,
    the errors, and each source's free space. A source with less free space
    than the plugin's ``min_free_space`` is "degraded", with a warning, and the
    answer stays 200: a failing check makes Fly restart the machine, which frees
    no disk, while downloads, and uploads that fit, still work.
    """
    checks = {"database:_internal": _query(datasette.get_internal_database())}
    for name, db in datasette.databases.items():
        if name != "_memory":
            checks[f"database:{name}"] = _query(db)
    for source in datasette_files.list_sources(datasette):
        checks[f"source:{source.slug}"] = datasette_files.check_source(datasette, source.slug)
    names = list(checks)
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS) for check in checks.values()),
        return_exceptions=True,
    )
    results, errors, warnings, free_bytes = {}, [], [], {}
    for name, outcome in zip(names, outcomes):
        if isinstance(outcome, BaseException):
            reason = "timed out" if isinstance(outcome, asyncio.TimeoutError) else str(outcome)
            results[name] = "failed"
            errors.append(f"{name}: {reason or type(outcome).__name__}")
        elif isinstance(outcome, datasette_files.SourceCheck):
            results[name] = outcome.status
            if outcome.free_bytes is not None:
                free_bytes[name] = outcome.free_bytes
            if outcome.warning:
                warnings.append(f"{name}: {outcome.warning}")
        else:
            results[name] = outcome
    body = {"ok": not errors}
    if await _may_see_details(datasette, request.actor):
        body.update(status="failed" if errors else "degraded" if warnings else "ok",
                    checks=results, free_bytes=free_bytes)
        if errors:
            body["errors"] = errors
        if warnings:
            body["warnings"] = warnings
    return Response.json(body, status=503 if errors else 200,
                         headers={"Cache-Control": "no-store"})


async def _may_see_details(datasette, actor) -> bool:
    verdicts = await datasette.allowed_many(actions=DETAIL_ACTIONS, actor=actor)
    return all(verdicts.values())


async def _query(db) -> str:
    await db.execute("select 1")
    return "ok"
