"""Container health check: exit 0 when a URL answers 2xx or 3xx, 1 otherwise.

Used by the compose services built from docker/Dockerfile, which have Python but
no curl: ``python /opt/ufo-etl/docker/healthcheck.py http://127.0.0.1:8080/json/``.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: healthcheck.py URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[0], timeout=5) as response:
            return 0 if response.status < 400 else 1
    except (OSError, urllib.error.URLError) as e:
        print(f"{argv[0]}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
