"""The `files-server` command (also `python -m app`)."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path

import click
import datasette_files
from datasette.app import Datasette
from datasette_auth_passwords.utils import hash_password

from .backup import RestoreRefused, restore_backup, stage_restore, write_backup
from .config import (
    AUTH_PLUGIN, GENERATED_ADMIN, MEMBER_ID, ConfigProblem, hash_env_name, prepare_config, read_config_file)
from .datadir import DataDir, DataDirProblem
from .fly_deploy import deploy
from .logins_db import LoginsDb
from .server import build_datasette, run
from .settings import Settings


@click.group()
def cli():
    """A team file server on Datasette. Settings come from the environment:
    DATA_DIR, CONFIG_PATH, HOST, PORT, FORWARDED_ALLOW_IPS, CLIENT_IP_HEADER, SHUTDOWN_TIMEOUT,
    SESSION_DAYS, REQUEST_BODY_TIMEOUT, REQUEST_HEADER_TIMEOUT, MAX_CONNECTIONS,
    HTTP_PROTOCOL (see the README)."""


cli.add_command(deploy)


def settings_from_environment() -> Settings:
    try:
        return Settings.from_environment()
    except ValueError as ex:
        raise click.ClickException(str(ex))


@cli.command()
def serve():
    """Run the server (HOST:PORT, default 127.0.0.1:8001)."""
    settings = settings_from_environment()
    try:
        run(settings)
    except (ConfigProblem, DataDirProblem) as ex:
        raise click.ClickException(str(ex))


@cli.command()
def check():
    """Validate the configuration and the data directory; exit 1 on any problem."""
    settings = settings_from_environment()
    problems = []
    click.echo(f"config:   {settings.config_path}")
    click.echo(f"data dir: {settings.data_dir}")
    try:
        raw = read_config_file(settings.config_path)
    except ConfigProblem as ex:
        raise click.ClickException(str(ex))
    data_dir = DataDir(settings.data_dir)
    try:
        data_dir.ensure()
    except DataDirProblem as ex:
        problems.append(str(ex))
    except OSError as ex:
        problems.append(f"data directory {settings.data_dir}: {ex.strerror}")
    else:
        prepared = prepare_config(raw, data_dir, create_admin=False)
        problems.extend(asyncio.run(_check_sources(prepared.config)))
        click.echo(f"logins:   {_describe_logins(prepared)}")
    for problem in problems:
        click.echo(f"problem:  {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("ok")


def _describe_logins(prepared) -> str:
    who = ", ".join(f"{member_id} ({', '.join(roles) or 'no roles'})"
                    for member_id, roles in sorted(prepared.logins.items()))
    if prepared.has_admin:
        return f"{who} can log in"
    first_start = (f"no admin can log in yet; the first start will create "
                   f"'{GENERATED_ADMIN}' and print its password")
    return f"{who} can log in; {first_start}" if who else first_start


async def _check_sources(config: dict) -> list[str]:
    try:
        sources = await datasette_files.validate_sources(Datasette(config=config))
    except datasette_files.ConfigError as ex:
        return [ex.message]
    for source in sources:
        click.echo(f"source:   {source.slug} ({source.storage_type}) ok")
    return []


@cli.command()
@click.argument("member_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def member(member_id, password_stdin):
    """Print the environment line that gives MEMBER_ID a login (or a new password).

    Set it where the server runs and restart: `fly secrets set ...` does both;
    with Docker, pass it with -e and recreate the container.
    """
    member_id = member_id.lower()
    if not MEMBER_ID.match(member_id):
        raise click.BadParameter("use 1-64 lower-case letters, digits or '_'")
    if password_stdin:
        password = sys.stdin.read().strip()
        if not password:
            raise click.ClickException("no password on standard input")
    else:
        password = secrets.token_urlsafe(12)
        click.echo(f"Generated password for {member_id}: {password}", err=True)
    click.echo(f"{hash_env_name(member_id)}='{hash_password(password)}'")


@cli.command()
@click.argument("member_id")
@click.option("--hours", type=int, default=None, help="Expire after this many hours.")
def token(member_id, hours):
    """Print an API token for MEMBER_ID (send it as `Authorization: Bearer ...`).

    It acts with the member's current roles, and is signed with this data
    directory's DATASETTE_SECRET; changing that secret revokes every token.
    """
    settings = settings_from_environment()
    data_dir = DataDir(settings.data_dir)
    secret = data_dir.signing_secret()
    if secret is None:
        raise click.ClickException(
            f"no signing key in {settings.data_dir}: point DATA_DIR at the server's data "
            "directory (the one its first start made), or set DATASETTE_SECRET as the server has it")
    member_id = member_id.lower()
    try:
        prepared = prepare_config(read_config_file(settings.config_path), data_dir,
                                  create_admin=False)
    except ConfigProblem as ex:
        raise click.ClickException(str(ex))
    actors = prepared.config["plugins"][AUTH_PLUGIN]["actors"]
    if member_id not in actors:
        raise click.ClickException(
            f"'{member_id}' is not a team member: add them under `actors` in "
            f"{settings.config_path}, or give them a login with `files-server member {member_id}`")
    if not actors[member_id].get("roles"):
        raise click.ClickException(
            f"'{member_id}' has no roles, so a token could do nothing: give them roles under "
            f"`actors` in {settings.config_path}")
    expires = hours * 3600 if hours else None
    click.echo(asyncio.run(Datasette(secret=secret).create_token(member_id, expires_after=expires)))


@cli.command()
@click.argument("member_id")
def signout(member_id):
    """End every login of MEMBER_ID, on this server and any device.

    Works while the server runs: it notices within a few seconds. The API
    tokens MEMBER_ID made until now are refused too.
    """
    settings = Settings.from_environment()
    data_dir = DataDir(settings.data_dir)
    data_dir.ensure()
    db = LoginsDb(data_dir.logins_db)
    try:
        ended = db.end_member_sessions(member_id.lower())
    finally:
        db.close()
    click.echo(f"{member_id.lower()}: {ended} login{'' if ended == 1 else 's'} ended")


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--confirm-removals", is_flag=True,
              help="Remove registered files even if a root has become empty.")
def sync(sources, confirm_removals):
    """Register the files already in the sources' folders (all sources by default)."""
    settings = settings_from_environment()

    async def run() -> int:
        datasette, _ = build_datasette(settings, quiet=True)
        await datasette.invoke_startup()
        failures = 0
        for source in datasette_files.list_sources(datasette):
            if sources and source.slug not in sources:
                continue
            if not source.can_list:
                click.echo(f"{source.slug}: cannot list its files; skipped")
                continue
            status = await datasette_files.sync_source(datasette, source.slug,
                                                       confirm_removals=confirm_removals)
            click.echo(f"{source.slug}: {status.state}: found {status.found}, added "
                       f"{status.added}, removed {status.removed}, changed {status.changed}, "
                       f"moved {status.moved}, skipped {status.skipped} in {status.seconds}s"
                       + (f" ({status.error})" if status.error else ""))
            failures += status.state != "done"
        return failures

    sys.exit(1 if asyncio.run(run()) else 0)


@cli.command()
@click.argument("destination")
def backup(destination):
    """Write a consistent snapshot of the data directory to DESTINATION (a .tar
    file, or - for standard output) while the server runs."""
    settings = settings_from_environment()
    config = prepare_config(
        read_config_file(settings.config_path), DataDir(settings.data_dir), create_admin=False
    ).config
    out = sys.stdout.buffer if destination == "-" else open(destination, "wb")
    with out:
        report = write_backup(DataDir(settings.data_dir), config, out)
    click.echo(report, err=True)


@cli.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--next-start", is_flag=True,
              help="DATA_DIR is a running server's: unpack the backup beside it, for the "
                   "server's next start to swap in (the data replaced is kept aside).")
def restore(source, next_start):
    """Restore a backup .tar into an empty DATA_DIR (or, with --next-start, at
    the server's next start)."""
    settings = settings_from_environment()
    restore_into = stage_restore if next_start else restore_backup
    try:
        click.echo(restore_into(source, DataDir(settings.data_dir)), err=True)
    except RestoreRefused as ex:
        raise click.ClickException(str(ex))


def main():
    cli(prog_name="files-server")
