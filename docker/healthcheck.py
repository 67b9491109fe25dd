"""Container health check: exit 0 when a server answers, 1 otherwise.

Used by the compose services built from docker/Dockerfile, which have Python but
no curl:

- ``python /opt/ufo-etl/docker/healthcheck.py http://127.0.0.1:8080/json/``: the
  URL answers 2xx or 3xx;
- ``python /opt/ufo-etl/docker/healthcheck.py sc://127.0.0.1:15002``: a Spark
  Connect server accepts a TCP connection, then a gRPC (HTTP/2) channel. Spark's
  ``SparkConnectServer`` starts its gRPC service only once its SparkContext is
  up on the cluster, so this is the moment clients can open sessions; its UI
  answers earlier. The probe opens no Spark session on the server.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT = 5.0
CONNECT_PORT = 15002  # Spark Connect's default


def check_http(url: str, timeout: float = TIMEOUT) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 0 if response.status < 400 else 1
    except (OSError, urllib.error.URLError) as e:
        print(f"{url}: {e}", file=sys.stderr)
        return 1


def check_spark_connect(url: str, timeout: float = TIMEOUT) -> int:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or CONNECT_PORT
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        print(f"{url}: {e}", file=sys.stderr)
        return 1
    import grpc  # the Spark Connect client's: in both images

    channel = grpc.insecure_channel(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        print(f"{url}: accepts connections but no gRPC channel", file=sys.stderr)
        return 1
    finally:
        channel.close()
    return 0


def main(argv: list[str], timeout: float = TIMEOUT) -> int:
    if len(argv) != 1:
        print("usage: healthcheck.py URL (http://... or sc://host:port)", file=sys.stderr)
        return 2
    if argv[0].startswith("sc://"):
        return check_spark_connect(argv[0], timeout)
    return check_http(argv[0], timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
