"""S3 endpoints and credentials, for every filesystem operation of the project.

Settings come from ``[s3]`` in ``luigi.cfg`` and, where a value is empty, from
the standard ``AWS_*`` environment variables. The secret key never appears in a
``repr``, a log line or an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from backends.errors import ConfigurationError

_ENVIRONMENT = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region_name": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
}


@dataclass(frozen=True)
class S3Settings:
    """Where S3 is and who we are there.

    Examples
    --------
    The secret key stays out of the ``repr``:

    >>> "secret" in repr(S3Settings("http://127.0.0.1:8333", "us-east-1", "key", "secret"))
    False
    """

    endpoint_url: str = ""
    region_name: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = field(default="", repr=False)

    def resolved(self) -> S3Settings:
        """These settings, with every empty value taken from the environment."""
        values = {}
        for name, variables in _ENVIRONMENT.items():
            if not getattr(self, name):
                values[name] = next((os.environ[v] for v in variables if os.environ.get(v)), "")
        return replace(self, **values)

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow S3 filesystem for these settings."""
        options: dict[str, object] = {
            "region": self.region_name or "us-east-1",
            "allow_bucket_creation": True,
            "connect_timeout": 10,
            "request_timeout": 60,
        }
        if self.aws_access_key_id or self.aws_secret_access_key:
            options["access_key"] = self.aws_access_key_id
            options["secret_key"] = self.aws_secret_access_key
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigurationError(
                    f"s3 endpoint_url must look like http://host:port, not {self.endpoint_url!r}"
                )
            options["endpoint_override"] = parts.netloc
            options["scheme"] = parts.scheme
        return pafs.S3FileSystem(**options)


def is_s3(uri: str) -> bool:
    """True for an ``s3://`` (or ``s3a://``) URL."""
    return uri.startswith(("s3://", "s3a://"))


def check_no_dot_segments(url: str, setting: str) -> None:
    """Refuse ``.`` and ``..`` segments in a URL: local paths are resolved, but
    object stores disagree on what such keys mean (SeaweedFS answers with a
    signature error), so ``setting`` gets a clear error instead.

    >>> check_no_dot_segments("s3://ufo/a/../b", "data_root")
    Traceback (most recent call last):
    ...
    backends.errors.ConfigurationError: data_root 's3://ufo/a/../b' must not ...
    """
    if {".", ".."} & set(url.split("://", 1)[-1].split("/")):
        raise ConfigurationError(f"{setting} {url!r} must not contain '.' or '..' segments")


def s3_key(uri: str) -> str:
    """``bucket/key`` of an S3 URL, as pyarrow's S3 filesystem names it."""
    return uri.split("://", 1)[1]
