"""Building the Datasette instance and serving it with uvicorn."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import uvicorn
from datasette.app import Datasette
from datasette.plugins import pm
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from . import hooks
from .backup import swap_in_staged_restore
from .config import prepare_config, read_config_file
from .connections import ConnectionGuard
from .datadir import DataDir
from .login_state import attach_login_state
from .middleware import (
    AccessLog,
    LoginThrottle,
    PasswordsAtLoginOnly,
    SecurityHeaders,
)
from .proxies import behind_proxies
from .settings import Settings
from .timeouts import BodyTimeout

log = logging.getLogger("app")
APP_PLUGIN_NAME = "datasette-files-server"
DATASETTE_COOKIE_ACTOR = "datasette.actor_auth_cookie"
DATASETTE_TOKEN_ACTOR = "datasette.default_permissions.tokens"
# The account page (logout.html, with "sign out everywhere").
TEMPLATES = Path(__file__).parent / "templates"


def build_datasette(settings: Settings, quiet: bool = False) -> tuple[Datasette, DataDir]:
    """A configured Datasette over the data directory, with first-start set-up done.

    ``quiet`` (for commands other than serve) skips the key warnings."""
    data_dir = DataDir(settings.data_dir)
    data_dir.ensure()
    keys, from_file = data_dir.keys()
    for name in [] if quiet else from_file:
        log.warning(
            "%s is not set: using the one kept in %s. Set it in the environment "
            "(e.g. `fly secrets set`) so it is not stored beside the data.",
            name, data_dir.internal / "keys.json",
        )
    # Datasette and datasette-secrets read these from the environment ($env in
    # the config), so they never appear in the configuration itself.
    os.environ.update(keys)
    # SQLite's temporary tables (a CSV import's staging) go on the data volume.
    os.environ.setdefault("SQLITE_TMPDIR", str(data_dir.tmp))
    prepared = prepare_config(read_config_file(settings.config_path), data_dir)
    if prepared.new_admin_password:
        # The one secret ever logged: printed once, on the start that made it.
        print(
            "\n"
            "  No admin login was configured, so one was created:\n"
            f"    username: admin\n    password: {prepared.new_admin_password}\n"
            "  It is shown only this once. Set PASSWORD_HASH_ADMIN to replace it\n"
            "  (see the README: 'Team members and passwords').\n",
            flush=True,
        )
    if pm.get_plugin(APP_PLUGIN_NAME) is None:
        pm.register(hooks, name=APP_PLUGIN_NAME)
    # Our actor_from_request reads the same session cookie (and adds roles);
    # Datasette's own would decode it a second time on every request.
    if pm.get_plugin(DATASETTE_COOKIE_ACTOR) is not None:
        pm.unregister(name=DATASETTE_COOKIE_ACTOR)
    # Likewise API tokens: ours refuses a token its member signed out of, and
    # Datasette's own would then let it in (the first actor found wins); the
    # token handler it also registered comes from hooks.register_token_handler.
    if pm.get_plugin(DATASETTE_TOKEN_ACTOR) is not None:
        pm.unregister(name=DATASETTE_TOKEN_ACTOR)
    datasette = Datasette(
        [str(path) for path in data_dir.database_files()],
        config=prepared.config,
        internal=str(data_dir.internal_db),
        secret=keys["DATASETTE_SECRET"],
        settings={"max_returned_rows": 1000},
        template_dir=str(TEMPLATES),
    )
    attach_login_state(datasette, data_dir.logins_db, settings.session_seconds)
    return datasette, data_dir


ACCESS_LOG = logging.getLogger("files_server.access")


def asgi_app(datasette: Datasette, settings: Settings):
    app = PasswordsAtLoginOnly(LoginThrottle(datasette.app()))
    app = AccessLog(SecurityHeaders(BodyTimeout(app, settings.request_body_timeout)),
                    ACCESS_LOG)
    return behind_proxies(app, settings.forwarded_allow_ips, settings.client_ip_header)


def http_protocol(settings: Settings) -> type:
    """uvicorn's HTTP protocol class for ``settings.http_protocol``, with the
    connection cap and the header deadline (see connections.py)."""
    guard = ConnectionGuard(settings.max_connections, settings.request_header_timeout)
    return guard.protocol(import_from_string(HTTP_PROTOCOLS[settings.http_protocol]))


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; in-flight requests get settings.shutdown_timeout
    seconds to finish, then are cancelled (an upload cut off is cleaned up)."""
    from datasette.cli import check_databases

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    # Here and not in build_datasette: a command run beside the server must not swap.
    swapped = swap_in_staged_restore(DataDir(settings.data_dir))
    if swapped:
        log.info(swapped)
    datasette, _ = build_datasette(settings)
    await check_databases(datasette)
    await datasette.invoke_startup()
    config = uvicorn.Config(
        asgi_app(datasette, settings),
        host=settings.host,
        port=settings.port,
        # Forwarded headers are believed only from the configured proxy (see
        # app/proxies.py, which applies uvicorn's own middleware itself).
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        # The connection cap (MAX_CONNECTIONS) is the protocol's: uvicorn's
        # limit_concurrency would count only connections whose headers are in.
        http=http_protocol(settings),
        lifespan="on",
        log_level="info",
        # AccessLog writes the access log instead, after each response.
        access_log=False,
        server_header=False,
    )
    await uvicorn.Server(config).serve()


def run(settings: Settings) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
