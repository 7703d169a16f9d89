"""The image with its files in an S3-compatible bucket named by the environment,
as `fly storage create` (Tigris) or any S3 service sets it: moto's server on
the host, reached from the container through the Docker bridge."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess

import httpx

from support.s3 import S3Admin, needs_moto, s3_env, start_moto

pytestmark = needs_moto()
BUCKET = "team-files-image"
CONTENT = os.urandom(300_000)


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge, where containers reach it."""
    found = subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True,
                           text=True, check=True).stdout
    config = json.loads(found)[0]["IPAM"]["Config"][0]
    # Some daemons leave Gateway out: it is then the subnet's first address.
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def test_the_image_stores_files_in_the_bucket_the_environment_names(run_container, tmp_path):
    moto = start_moto(tmp_path, bind="0.0.0.0")
    try:
        bucket = S3Admin(moto.url, BUCKET).create()
        endpoint = f"http://{bridge_gateway()}:{moto.port}"
        server = run_container(env={
            **s3_env(), "BUCKET_NAME": BUCKET, "AWS_ENDPOINT_URL_S3": endpoint,
            "PUBLIC_URL": "https://files.example.com"})
        # Set at start-up for the public address: browsers may send files straight in.
        rules = bucket.cors_rules()
        assert any("https://files.example.com" in rule["AllowedOrigins"]
                   and {"PUT", "POST"} <= set(rule["AllowedMethods"]) for rule in rules), rules
        with server.login("admin", server.admin_password()) as admin:
            sources = admin.get("/-/files/sources.json").json()["sources"]
            assert "bucket" in [s["slug"] for s in sources]
            plan = admin.post("/-/files/upload/bucket/-/prepare", json={
                "filename": "report.bin", "content_type": "application/octet-stream",
                "size": len(CONTENT)}).json()
            assert plan["transfer"] == "direct", plan
            assert plan["upload_url"].startswith(endpoint)
            # The bytes go to the bucket, never through the server.
            posted = httpx.post(plan["upload_url"], data=plan["upload_fields"],
                                files={"file": ("report.bin", CONTENT)})
            assert posted.status_code in (200, 201, 204), posted.text
            done = admin.post("/-/files/upload/bucket/-/complete",
                              json={"upload_token": plan["upload_token"]})
            assert done.status_code == 201, done.text
            file = done.json()["file"]
            [key] = [k for k in bucket.keys() if k.endswith("report.bin")]
            assert bucket.get(key) == CONTENT
            download = admin.get(file["download_url"], follow_redirects=False)
            assert download.status_code == 302
            fetched = httpx.get(download.headers["location"])
            assert fetched.content == CONTENT
            assert fetched.headers["content-disposition"].startswith("attachment")
        assert "Traceback" not in server.logs()
        assert s3_env()["AWS_SECRET_ACCESS_KEY"] not in server.logs()
    finally:
        moto.stop()
