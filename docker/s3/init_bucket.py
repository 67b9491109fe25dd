"""One-shot job of the production stack: create the bucket and upload the raw files.

    python docker/s3/init_bucket.py --source /raw --dest s3://ufo/raw/

Creates the bucket of ``--dest`` when it does not exist, then copies every
``*.tsv`` and ``*.csv`` file directly in ``--source`` to ``--dest`` (the prefix
``[etl] raw_path`` names), replacing objects of the same name. Running it again
is harmless. The endpoint comes from ``--endpoint-url`` or ``AWS_ENDPOINT_URL``,
the credentials from ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``; the
secret key is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

RAW_SUFFIXES = (".tsv", ".csv")


def parse_dest(dest: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of an ``s3://bucket/prefix/`` URL; the prefix ends with ``/``.

    >>> parse_dest("s3://ufo/raw/")
    ('ufo', 'raw/')
    >>> parse_dest("s3://ufo")
    ('ufo', '')
    """
    parts = urlsplit(dest)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"--dest must be an s3://bucket/prefix/ URL, not {dest!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def raw_files(source: Path) -> list[Path]:
    """The raw files the pipeline would read from a directory, sorted."""
    return sorted(p for p in source.iterdir() if p.is_file() and p.suffix in RAW_SUFFIXES)


def s3_filesystem(endpoint_url: str, region: str) -> pafs.S3FileSystem:
    access_key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access_key or not secret_key:
        raise SystemExit("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
    endpoint = urlsplit(endpoint_url)
    if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
        raise SystemExit(f"the S3 endpoint must look like http://host:port, not {endpoint_url!r}")
    return pafs.S3FileSystem(
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        scheme=endpoint.scheme,
        endpoint_override=endpoint.netloc,
        allow_bucket_creation=True,
        connect_timeout=10,
        request_timeout=60,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="directory of raw files")
    parser.add_argument("--dest", required=True, help="s3://bucket/prefix/")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", ""))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for S3")
    args = parser.parse_args(argv)

    bucket, prefix = parse_dest(args.dest)
    if not args.source.is_dir():
        print(f"{args.source} is not a directory (set UFO_RAW_DIR in docker/.env)", file=sys.stderr)
        return 1
    files = raw_files(args.source)
    if not files:
        print(f"no *.tsv or *.csv file in {args.source}", file=sys.stderr)
        return 1
    fs = s3_filesystem(args.endpoint_url, args.region)

    deadline = time.monotonic() + args.wait
    while True:
        try:
            if fs.get_file_info(bucket).type == pafs.FileType.NotFound:
                fs.create_dir(bucket)
                print(f"created bucket {bucket}")
            else:
                print(f"bucket {bucket} exists")
            break
        except OSError as e:
            if time.monotonic() > deadline:
                print(f"S3 at {args.endpoint_url} refused or did not answer: {e}", file=sys.stderr)
                return 1
            time.sleep(2)

    local = pafs.LocalFileSystem()
    for path in files:
        key = f"{bucket}/{prefix}{path.name}"
        pafs.copy_files(
            str(path.resolve()), key, source_filesystem=local, destination_filesystem=fs
        )
        print(f"uploaded {path} -> s3://{key} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
