"""A stand-in for flyctl, for tests of `files-server deploy fly` (Fly itself
cannot be reached from here).

Tests put it on PATH as `fly` (or `flyctl`) with FAKE_FLY_DIR naming a folder
where it keeps:
- calls.jsonl: one line per call, {"argv": [...], "stdin": "..."} (stdin only
  for `secrets import`, the one command that reads it);
- state.json: the apps, volumes and secrets made so far, so that a second run
  sees what the first made. Secret values are kept too: a test checks that the
  stored admin hash matches the password the command printed.

Its answers follow real flyctl's: `apps list --json` and `secrets list --json`
in the Go field names flyctl prints (Name, Organization...), `volumes list
--json` in the Machines API's (id, name, state, size_gb...). What a terminal
would be asked for (a volume's "are you sure") fails without --yes, as it does
when flyctl has no terminal. FAKE_FLY_DEPLOY_ERROR makes `deploy` fail with
that message.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_FLY_DIR"]) / "state.json"
CALLS = Path(os.environ["FAKE_FLY_DIR"]) / "calls.jsonl"


def option(argv: list[str], name: str, default=None):
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def fail(message: str, code: int = 1):
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(code)


def app_of(argv: list[str], state: dict) -> str:
    app = option(argv, "--app") or option(argv, "-a")
    if not app:
        fail("the config for your app is missing an app name, add an app field to the fly.toml "
             "file or specify with the -a flag")
    if app not in state["apps"]:
        fail(f"Could not find App \"{app}\"")
    return app


def apps_list(state: dict) -> list:
    return [{"ID": name, "Name": name, "Status": app["status"], "Deployed": app["deployed"],
             "Hostname": f"{name}.fly.dev", "Organization": {"Slug": app["org"], "Name": app["org"]},
             "PlatformVersion": "machines"} for name, app in state["apps"].items()]


def apps_create(argv: list[str], state: dict) -> None:
    name = argv[2] if len(argv) > 2 and not argv[2].startswith("-") else None
    if not name:
        fail("prompt: non interactive (an app name is needed)")
    if name in state["apps"]:
        fail("Validation failed: Name has already been taken")
    org = option(argv, "--org", "personal")
    state["apps"][name] = {"org": org, "status": "pending", "deployed": False,
                           "volumes": [], "secrets": {}}
    print(f"New app created: {name}")


def volumes_list(argv: list[str], state: dict) -> list:
    app = state["apps"][app_of(argv, state)]
    return app["volumes"]


def volumes_create(argv: list[str], state: dict) -> None:
    app = state["apps"][app_of(argv, state)]
    if "--yes" not in argv and "-y" not in argv:
        fail("prompt: non interactive (Warning! Every volume is pinned to a specific physical "
             "host. Do you still want to use the volumes feature?)")
    region = option(argv, "--region") or option(argv, "-r")
    if not region:
        fail("prompt: non interactive (select a region)")
    volume = {"id": f"vol_{len(app['volumes']) + 1:016d}", "name": argv[2], "state": "created",
              "size_gb": int(option(argv, "--size", option(argv, "-s", "1"))),
              "region": region, "zone": "a1b2", "encrypted": True,
              "attached_machine_id": None, "attached_alloc_id": None,
              "created_at": "2025-01-01T00:00:00Z", "snapshot_retention": 5}
    app["volumes"].append(volume)
    print(f"        ID: {volume['id']}\n      Name: {volume['name']}")


def secrets_list(argv: list[str], state: dict) -> list:
    app = state["apps"][app_of(argv, state)]
    return [{"Name": name, "Digest": hashlib.sha256(value.encode()).hexdigest()[:16],
             "CreatedAt": "2025-01-01T00:00:00Z"} for name, value in app["secrets"].items()]


def secrets_import(argv: list[str], state: dict, stdin: str) -> None:
    app = state["apps"][app_of(argv, state)]
    for line in stdin.splitlines():
        if line.strip():
            name, value = line.split("=", 1)
            app["secrets"][name] = value
    print("Secrets are staged for the first deployment" if "--stage" in argv
          else "Secrets are deployed")


def storage_create(argv: list[str], state: dict) -> None:
    """A Tigris bucket: flyctl sets these secrets on the app."""
    app = state["apps"][app_of(argv, state)]
    name = option(argv, "--name") or option(argv, "-n")
    if not name:
        fail("prompt: non interactive (Choose a name, use the default, or leave blank to "
             "generate one)")
    if "--yes" not in argv and "-y" not in argv:
        fail("prompt: non interactive (Your Tigris Object Storage bucket will be billed "
             "...; do you want to continue?)")
    app["secrets"].update({
        "AWS_ACCESS_KEY_ID": "tid_" + hashlib.sha256(name.encode()).hexdigest()[:20],
        "AWS_SECRET_ACCESS_KEY": "tsec_" + hashlib.sha256(name.encode()[::-1]).hexdigest(),
        "AWS_ENDPOINT_URL_S3": "https://fly.storage.tigris.dev", "AWS_REGION": "auto",
        "BUCKET_NAME": name})
    print(f"Your Tigris project ({name}) is ready. The following secrets were set on "
          f"the app: AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_S3, AWS_REGION, "
          f"AWS_SECRET_ACCESS_KEY, BUCKET_NAME")


def deploy(argv: list[str], state: dict) -> None:
    name = app_of(argv, state)
    config = option(argv, "--config") or option(argv, "-c")
    if not config or not Path(config).exists():
        fail(f"couldn't find a fly.toml at {config}")
    if os.environ.get("FAKE_FLY_DEPLOY_ERROR"):
        fail(os.environ["FAKE_FLY_DEPLOY_ERROR"])
    app = state["apps"][name]
    app.update(status="deployed", deployed=True)
    for volume in app["volumes"][:1]:
        volume["attached_machine_id"] = "148e21"
    print(f"Visit your newly deployed app at https://{name}.fly.dev/")


def main() -> None:
    argv = sys.argv[1:]
    stdin = sys.stdin.read() if argv[:2] == ["secrets", "import"] else None
    with CALLS.open("a") as calls:
        calls.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
    state = json.loads(STATE.read_text()) if STATE.exists() else {"apps": {}}
    command = argv[:2]
    answer = None
    if command == ["apps", "list"]:
        answer = apps_list(state)
    elif command == ["apps", "create"]:
        apps_create(argv, state)
    elif command in (["volumes", "list"], ["volume", "list"]):
        answer = volumes_list(argv, state)
    elif command in (["volumes", "create"], ["volume", "create"]):
        volumes_create(argv, state)
    elif command == ["secrets", "list"]:
        answer = secrets_list(argv, state)
    elif command == ["secrets", "import"]:
        secrets_import(argv, state, stdin)
    elif command == ["storage", "create"]:
        storage_create(argv, state)
    elif argv[:1] == ["deploy"]:
        deploy(argv, state)
    else:
        fail(f"unknown command {' '.join(argv)!r} (the fake knows only what deploy uses)", 2)
    if answer is not None:
        if "--json" not in argv and "-j" not in argv:
            fail("the fake answers queries in JSON only", 2)
        print(json.dumps(answer, indent=2))
    STATE.write_text(json.dumps(state, indent=2))


if __name__ == "__main__":
    main()
