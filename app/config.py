"""Loading config/datasette.yaml and completing it for this data directory.

The file stays what a user edits: sources, team members with their roles, and
permissions. Here it is read strictly (a duplicated key is an error, not a
silent override), relative source roots are placed under the data directory,
and logins are wired to password hashes held in environment variables.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from .bucket_source import add_bucket_source
from .datadir import DataDir

AUTH_PLUGIN = "datasette-auth-passwords"
# datasette-auth-passwords reads member ID's hash from the key ID + this.
PASSWORD_HASH_SUFFIX = "_password_hash"
APP_PLUGIN = "datasette-files-server"
HASH_ENV_PREFIX = "PASSWORD_HASH_"
MEMBER_ID = re.compile(r"^[a-z0-9_]{1,64}$")
DEFAULT_ROLE = "member"
ADMIN_ROLE = "admin"
GENERATED_ADMIN = "admin"


class ConfigProblem(Exception):
    """The configuration file cannot be used; the message says why and where."""


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses duplicate keys: a second `photos:` source would
    otherwise silently replace the first."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigProblem(
                    f"duplicate key {key!r} at line {key_node.start_mark.line + 1}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: Path) -> dict:
    try:
        with open(path) as fp:
            config = yaml.load(fp, Loader=_StrictLoader) or {}
    except FileNotFoundError:
        raise ConfigProblem(f"{path}: no such file")
    except ConfigProblem as ex:
        raise ConfigProblem(f"{path}: {ex}")
    except yaml.YAMLError as ex:
        raise ConfigProblem(f"{path}: not valid YAML: {ex}")
    if not isinstance(config, dict):
        raise ConfigProblem(f"{path}: expected a mapping at the top level")
    return config


@dataclass
class PreparedConfig:
    config: dict
    # The members who can log in (they have a password), and their roles.
    logins: dict[str, list[str]]
    # Set only on the start that created the first admin login: print it once.
    new_admin_password: Optional[str] = None

    @property
    def has_admin(self) -> bool:
        """Whether some member with the admin role can log in."""
        return any(ADMIN_ROLE in roles for roles in self.logins.values())


def prepare_config(
    raw: dict, data_dir: DataDir, environ=None, create_admin: bool = True
) -> PreparedConfig:
    """The configuration Datasette runs with, derived from the user's file.

    A data directory where no admin can log in gets an admin login (its hash
    kept in the data directory): made now with ``create_admin``, else only
    the one an earlier start made."""
    env = os.environ if environ is None else environ
    config = copy.deepcopy(raw)
    plugins = config.setdefault("plugins", {})
    files_config = plugins.get("datasette-files")
    if files_config is None:
        files_config = plugins["datasette-files"] = {}
    _place_relative_roots(files_config, data_dir)
    try:
        add_bucket_source(files_config, env)
    except ValueError as ex:
        raise ConfigProblem(str(ex)) from None
    plugins.setdefault("datasette-secrets", {})["encryption-key"] = {
        "$env": "DATASETTE_SECRETS_ENCRYPTION_KEY"
    }
    prepared = PreparedConfig(config=config, logins=_wire_logins(plugins, env))
    if not prepared.has_admin and (create_admin or data_dir.generated_admin_hash()):
        auth = plugins[AUTH_PLUGIN]
        prepared.new_admin_password = _add_generated_admin(auth, data_dir)
        prepared.logins[GENERATED_ADMIN] = auth["actors"][GENERATED_ADMIN]["roles"]
    return prepared


def _place_relative_roots(files_config: dict, data_dir: DataDir) -> None:
    for slug, source in (files_config.get("sources") or {}).items():
        if not isinstance(source, dict) or source.get("storage") != "filesystem":
            continue
        root = (source.get("config") or {}).get("root")
        if isinstance(root, str) and not os.path.isabs(os.path.expanduser(root)):
            source["config"]["root"] = str(data_dir.root / root)


def members(raw_config: dict, environ) -> dict[str, dict]:
    """Team members by id: those listed in the config with their roles, and
    anyone with a PASSWORD_HASH_<ID> variable, with the default role."""
    auth = ((raw_config.get("plugins") or {}).get(AUTH_PLUGIN)) or {}
    app = ((raw_config.get("plugins") or {}).get(APP_PLUGIN)) or {}
    default_role = app.get("default_role", DEFAULT_ROLE)
    found = {str(k): dict(v or {}, id=str(k)) for k, v in (auth.get("actors") or {}).items()}
    for name in environ:
        if name.startswith(HASH_ENV_PREFIX):
            member_id = name[len(HASH_ENV_PREFIX):].lower()
            if MEMBER_ID.match(member_id) and member_id not in found:
                found[member_id] = {"id": member_id, "roles": [default_role]}
    return found


def hash_env_name(member_id: str) -> str:
    return HASH_ENV_PREFIX + member_id.upper()


def _wire_logins(plugins: dict, env) -> dict[str, list[str]]:
    """Point each member's login at its hash variable; return the members who
    can log in, with their roles."""
    team = members({"plugins": plugins}, env)
    auth = plugins.setdefault(AUTH_PLUGIN, {})
    for member_id in team:
        if not MEMBER_ID.match(member_id):
            raise ConfigProblem(
                f"member id {member_id!r}: use 1-64 lower-case letters, digits or '_'"
            )
        auth.setdefault(member_id + PASSWORD_HASH_SUFFIX, {"$env": hash_env_name(member_id)})
    auth["actors"] = team

    def can_log_in(member_id):
        key = auth[member_id + PASSWORD_HASH_SUFFIX]
        return bool(env.get(key["$env"])) if isinstance(key, dict) else bool(key)

    return {i: list(m.get("roles") or []) for i, m in team.items() if can_log_in(i)}


def _add_generated_admin(auth: dict, data_dir: DataDir) -> Optional[str]:
    """Give "admin" the admin role and the login kept in the data directory,
    made now if there is none yet; returns the password only when made now."""
    team = auth["actors"]
    password = None
    password_hash = data_dir.generated_admin_hash()
    if password_hash is None:
        from datasette_auth_passwords.utils import hash_password

        password = secrets.token_urlsafe(15)
        password_hash = hash_password(password)
        data_dir.save_generated_admin_hash(password_hash)
    admin = team.setdefault(GENERATED_ADMIN, {"id": GENERATED_ADMIN, "roles": []})
    admin["roles"] = sorted(set(admin.get("roles") or []) | {ADMIN_ROLE})
    auth[GENERATED_ADMIN + PASSWORD_HASH_SUFFIX] = password_hash
    return password
