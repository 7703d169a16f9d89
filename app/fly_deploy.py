"""`files-server deploy fly [APP]`: from a checkout to a running server on Fly.io.

It asks flyctl what exists and makes only what is missing, in an order that
leaves a rerun safe after a failure at any step: the app, its secrets, the
volume, then the deploy (the one step every run makes: it ships this
checkout). Secrets go to `fly secrets import` on standard input, never on a
command line, where process listings and shell history would keep them.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import click
from datasette_auth_passwords.utils import hash_password

from .config import GENERATED_ADMIN, hash_env_name
from .datadir import KEY_MAKERS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 runs the server; only this command reads TOML
    tomllib = None

CHECKOUT_FLY_TOML = Path(__file__).resolve().parents[1] / "fly.toml"
INSTALL_HINT = "https://fly.io/docs/flyctl/install/"
HEALTH_PATH = "/-/health"
ADMIN_SECRET = hash_env_name(GENERATED_ADMIN)
# Set on the app by `fly storage create`, beside the AWS_* variables; the server
# makes its bucket source from them (app/bucket_source.py).
BUCKET_SECRET = "BUCKET_NAME"
POLL_SECONDS = 1.0


class DeployProblem(Exception):
    """The deploy cannot go on; the message says what failed and what to do."""


@dataclass(frozen=True)
class FlyToml:
    """What the deploy needs from fly.toml."""

    path: Path
    app: Optional[str]
    region: Optional[str]
    volume: str

    @classmethod
    def read(cls, path: Path) -> "FlyToml":
        if not path.is_file():
            raise DeployProblem(f"no fly.toml at {path}: run this from a checkout of the "
                                "repository, or pass --config")
        if tomllib is None:
            raise DeployProblem("reading fly.toml needs Python 3.11 or later")
        data = tomllib.loads(path.read_text())
        mounts = data.get("mounts") or {}
        mount = (mounts[0] if mounts else {}) if isinstance(mounts, list) else mounts
        if not mount.get("source"):
            raise DeployProblem(f"{path}: no [mounts] source: the server keeps its data on a volume")
        return cls(path.resolve(), data.get("app"), data.get("primary_region"), mount["source"])


@dataclass(frozen=True)
class Step:
    """One flyctl command that changes something; ``secrets`` go on its stdin."""

    command: str
    options: list[str]
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def args(self) -> list[str]:
        return [*self.command.split(), *self.options]

    def shown(self, fly: str) -> str:
        """The command line as a user could type it, with no secret value."""
        line = shlex.join([fly, *self.args])
        if self.secrets:
            line += "  # on stdin: " + " ".join(f"{name}=<hidden>" for name in self.secrets)
        return line


@dataclass(frozen=True)
class Flyctl:
    executable: str

    @classmethod
    def find(cls) -> "Flyctl":
        for name in ("fly", "flyctl"):
            found = shutil.which(name)
            if found:
                return cls(found)
        raise DeployProblem(f"neither `fly` nor `flyctl` is on PATH: install flyctl "
                            f"({INSTALL_HINT}), then log in with `fly auth login`")

    @property
    def name(self) -> str:
        return Path(self.executable).name

    def query(self, *args: str) -> list[dict]:
        """A read-only question, answered in JSON."""
        done = subprocess.run([self.executable, *args, "--json"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if done.returncode:
            raise DeployProblem(f"`{self.name} {' '.join(args)}` failed: "
                                f"{(done.stderr or done.stdout).strip()}")
        return json.loads(done.stdout or "null") or []

    def run(self, step: Step) -> None:
        """Run ``step``, its output to the terminal. Without a terminal on stdin
        flyctl never prompts: a question it would ask fails instead of hanging."""
        stdin = "".join(f"{name}={value}\n" for name, value in step.secrets.items())
        done = subprocess.run([self.executable, *step.args], text=True,
                              input=stdin if step.secrets else None,
                              stdin=None if step.secrets else subprocess.DEVNULL)
        if done.returncode:
            raise DeployProblem(f"`{self.name} {step.command}` failed (exit {done.returncode}); "
                                "its message is above")


@dataclass
class Existing:
    """What Fly already has for the app."""

    app: bool
    volumes: list[dict]
    secrets: set[str]


def _field(item: dict, name: str):
    # flyctl prints some lists with Go's field names (Name), others with JSON ones (name).
    return item.get(name, item.get(name.capitalize()))


def ask_fly(fly: Flyctl, app: str, volume: str) -> Existing:
    if app not in {_field(item, "name") for item in fly.query("apps", "list")}:
        return Existing(app=False, volumes=[], secrets=set())
    volumes = [v for v in fly.query("volumes", "list", "--app", app)
               if v.get("name") == volume and "destroy" not in str(v.get("state"))]
    names = {_field(item, "name") for item in fly.query("secrets", "list", "--app", app)}
    return Existing(app=True, volumes=volumes, secrets=names)


@dataclass
class Plan:
    steps: list[Step]
    # Set when this run makes the admin login: shown once, never stored here.
    admin_password: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def plan_deploy(existing: Existing, toml: FlyToml, app: str, org: Optional[str],
                region: str, size: int, tigris: bool = False) -> Plan:
    plan = Plan(steps=[])
    if not existing.app:
        plan.steps.append(Step("apps create", [app, *(["--org", org] if org else [])]))
    new_secrets = _secrets_to_make(existing, toml.volume, plan)
    if new_secrets:
        plan.steps.append(Step("secrets import", ["--app", app, "--stage"], new_secrets))
    if tigris and BUCKET_SECRET in existing.secrets:
        plan.notes.append(f"the app has a bucket already ({BUCKET_SECRET} is set)")
    elif tigris:
        # Sets BUCKET_NAME and the AWS_* secrets on the app (staged for the deploy).
        plan.steps.append(Step("storage create", ["--app", app, "--name", f"{app}-files",
                                                  "--yes"]))
    if not existing.volumes:
        plan.steps.append(Step("volumes create", [toml.volume, "--app", app, "--region", region,
                                                  "--size", str(size), "--yes"]))
    else:
        plan.notes.append(f"the volume {toml.volume} exists "
                          f"({', '.join(str(v.get('region')) for v in existing.volumes)})")
    # --ha=false: one machine. A second would get a volume, and data, of its own.
    plan.steps.append(Step("deploy", [str(toml.path.parent), "--app", app,
                                      "--config", str(toml.path), "--ha=false"]))
    return plan


def _secrets_to_make(existing: Existing, volume: str, plan: Plan) -> dict[str, str]:
    """The missing secrets, made now; never one that is set (new keys would end
    every session and make stored secrets unreadable)."""
    missing_keys = [name for name in KEY_MAKERS if name not in existing.secrets]
    if ADMIN_SECRET in existing.secrets:
        plan.notes.append(f"admin keeps its password ({ADMIN_SECRET} is set; "
                          "`files-server member admin` makes a new one)")
    if existing.volumes:
        # Made before this command's secrets (it sets them first), so by hand:
        # the server on it keeps its keys and admin login in /data/internal.
        if missing_keys:
            plan.notes.append(
                f"{', '.join(missing_keys)} not set, and the volume {volume} exists: its server "
                "keeps the keys its first start made (in /data/internal/keys.json); new ones "
                "would end every session and make stored secrets unreadable, so none are set")
        if ADMIN_SECRET not in existing.secrets:
            plan.notes.append("admin keeps its password, the one the server's first start "
                              "printed (`fly logs`); `files-server member admin` makes a new one")
        return {}
    made = {name: KEY_MAKERS[name]() for name in missing_keys}
    if ADMIN_SECRET not in existing.secrets:
        plan.admin_password = secrets.token_urlsafe(15)
        made[ADMIN_SECRET] = hash_password(plan.admin_password)
    return made


def wait_for_health(url: str, timeout: float, app: str) -> None:
    """Poll URL/-/health until it answers 200: the first request also wakes a
    machine Fly has stopped."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + HEALTH_PATH,
                                        timeout=max(1.0, min(10.0, timeout))) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, timed out, or an HTTP error status (URLError is one)
            pass
        if time.monotonic() >= deadline:
            raise DeployProblem(f"{url}{HEALTH_PATH} did not answer 200 within {timeout:g} s: "
                                f"see `fly logs --app {app}`")
        time.sleep(POLL_SECONDS)


def _echo_login(password: Optional[str], notes: list[str]) -> None:
    click.echo(f"user:     {GENERATED_ADMIN}")
    if password:
        click.echo(f"password: {password}")
        click.echo("(shown this once: Fly keeps only its hash, as the secret "
                   f"{ADMIN_SECRET})")
    for note in notes:
        click.echo(note)


def deploy_to_fly(fly: Flyctl, toml: FlyToml, app: str, org: Optional[str], region: str,
                  size: int, url: str, health_timeout: float, dry_run: bool,
                  tigris: bool = False) -> None:
    plan = plan_deploy(ask_fly(fly, app, toml.volume), toml, app, org, region, size, tigris)
    if dry_run:
        click.echo("Would run (secret values are made at the real run, never shown here):")
        for step in plan.steps:
            click.echo(f"  {step.shown(fly.name)}")
        click.echo(f"then wait for {url}{HEALTH_PATH} to answer 200.")
        for note in plan.notes:
            click.echo(note)
        return
    stored_password = None
    try:
        for step in plan.steps:
            click.echo(f"==> {step.shown(fly.name)}")
            fly.run(step)
            if step.secrets:
                stored_password = plan.admin_password
        click.echo(f"==> waiting for {url}{HEALTH_PATH}")
        wait_for_health(url, health_timeout, app)
    except DeployProblem:
        if stored_password:  # stored on Fly already: a rerun would keep it, so show it now
            click.echo("\nFly has the admin login made now; it works once a deploy succeeds "
                       "(rerun this command):")
            _echo_login(stored_password, [])
        raise
    click.echo(f"\nThe team file server is up at\n{url}")
    _echo_login(plan.admin_password, plan.notes)


@click.group()
def deploy():
    """Deploy the server to a hosting service."""


@deploy.command("fly")
@click.argument("app", required=False)
@click.option("--org", help="Fly organization of a new app (flyctl's default if not given).")
@click.option("--region", help="Region of the app's volume and machine, when fly.toml has no "
              "primary_region  [default: fly.toml's primary_region]")
@click.option("--size", type=click.IntRange(min=1), default=10, show_default=True,
              help="Size of a new volume, in GB.")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              default=CHECKOUT_FLY_TOML, show_default=True, help="The fly.toml to deploy with.")
@click.option("--url", help="The app's public address  [default: https://APP.fly.dev]")
@click.option("--health-timeout", type=click.FloatRange(min=0), default=300, show_default=True,
              help="Seconds to wait for URL/-/health to answer 200.")
@click.option("--dry-run", is_flag=True,
              help="Print the fly commands it would run (secrets hidden); runs only "
                   "flyctl's read-only list queries.")
@click.option("--tigris", is_flag=True,
              help="Store files in a Tigris bucket (`fly storage create`, once): the "
                   "server adds a source named 'bucket' for it. The volume keeps the "
                   "database.")
def fly_command(app, org, region, size, config_path, url, health_timeout, dry_run, tigris):
    """Create the Fly.io app APP [default: fly.toml's app], its secrets and its
    volume where missing, deploy this checkout, and wait until it is healthy.

    A rerun keeps what exists (never a secret: a new key would end every
    session) and deploys again. The admin password is shown once, when made.
    """
    try:
        toml = FlyToml.read(config_path)
        app = app or toml.app
        if region and toml.region and region != toml.region:
            # fly deploy puts the machine in primary_region; its volume must be there.
            raise DeployProblem(
                f"--region {region!r} differs from primary_region {toml.region!r} in "
                f"{toml.path}, where fly deploy puts the machine: change primary_region there")
        region = region or toml.region
        if not app:
            raise DeployProblem(f"no app name: give one, or set `app` in {toml.path}")
        if not region:
            raise DeployProblem(f"no region: pass --region, or set primary_region in {toml.path}")
        deploy_to_fly(Flyctl.find(), toml, app, org, region, size,
                      (url or f"https://{app}.fly.dev").rstrip("/"), health_timeout, dry_run,
                      tigris)
    except DeployProblem as ex:
        raise click.ClickException(str(ex))
