"""docker-compose.temporal.yml and the Dockerfile, checked without Docker: images pinned (and
matching the dev server we test against), ports, start order, the environment the app reads,
the search attributes, the image build."""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic_settings import BaseSettings
from temporalio.envconfig import ClientConfig

from contracts import ServiceName
from devstack.binaries import temporal_cli
from orchestrator_connection.codec_server import CodecServerSettings
from orchestrator_connection.settings import Settings
from reference_services.settings import ReferenceSettings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.temporal.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_IMAGE = "campaign-orchestrator"  # the worker's (the Dockerfile's default EXTRAS)
SERVICES_IMAGE = "campaign-orchestrator-services"  # EXTRAS=services
APP_IMAGES = (APP_IMAGE, SERVICES_IMAGE)
VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def resolve(value: object, env: dict[str, str] | None = None) -> str:
    """Compose interpolation: ${X:-default}, ${X-default}, ${X:?error}, ${X}; unset X."""
    env = env or {}

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env:
            return env[name]
        if op in (":-", "-"):
            return str(arg)
        if op in (":?", "?"):
            return f"required-{name.lower()}"
        return ""

    return VAR.sub(one, str(value))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svc: dict[str, dict[str, Any]] = compose["services"]
    return svc


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return {k: resolve(v) for k, v in env.items()}


def app_services(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, svc in services.items():
        if resolve(svc["image"]).split(":")[0] in APP_IMAGES:
            yield name, svc


def test_the_cluster_has_every_part(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
        "reference-services",
        "worker",
        "codec-server",
    }
    images = {name: resolve(svc["image"]).split(":")[0] for name, svc in services.items()}
    assert images["postgresql"] == "postgres"
    assert images["temporal-schema"] == images["temporal-namespace"] == "temporalio/admin-tools"
    assert images["temporal"] == "temporalio/server"
    assert images["temporal-ui"] == "temporalio/ui"
    assert {n for n, _ in app_services(services)} == {
        "reference-services",
        "worker",
        "codec-server",
    }
    for name, svc in app_services(services):
        assert svc["build"]["dockerfile"] == "Dockerfile", name
        assert (ROOT / svc["build"]["context"] / "Dockerfile").is_file()


def test_the_worker_image_has_no_servers_and_the_services_image_has_them(
    services: dict[str, dict[str, Any]],
) -> None:
    """The worker's image is the Dockerfile's default (no build args); the reference services and
    the codec server are built with the services extra, under another image name."""
    images = {name: resolve(svc["image"]).split(":")[0] for name, svc in app_services(services)}
    assert images == {
        "worker": APP_IMAGE,
        "reference-services": SERVICES_IMAGE,
        "codec-server": SERVICES_IMAGE,
    }
    assert "args" not in services["worker"]["build"]
    for name in ("reference-services", "codec-server"):
        assert services[name]["build"]["args"] == {"EXTRAS": "services"}, name
    # one tag for both images (APP_VERSION)
    assert len({resolve(svc["image"]).split(":")[1] for _, svc in app_services(services)}) == 1


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = resolve(svc["image"])
        repo, sep, tag = image.rpartition(":")
        assert sep and repo and tag, f"{name}: image {image} has no tag"
        assert tag != "latest" and "/" not in tag, f"{name}: image {image} is not pinned"
        assert re.fullmatch(r"\d+(\.\d+)*", tag), f"{name}: {image}: tag is not a version"
    assert resolve(services["postgresql"]["image"]) == "postgres:16"


def test_temporal_version_is_set_in_one_place_and_matches_the_dev_server(
    services: dict[str, dict[str, Any]],
) -> None:
    """Server and admin-tools (whose schema files must match the server) read one variable with
    one default; the default is the server our tests run against (the dev CLI's)."""
    exprs = {
        services[n]["image"].split(":", 1)[1]
        for n in ("temporal", "temporal-schema", "temporal-namespace")
    }
    assert len(exprs) == 1
    [expr] = exprs
    assert VAR.fullmatch(expr) and VAR.fullmatch(expr)["name"] == "TEMPORAL_VERSION"  # type: ignore[index]
    version_line = subprocess.run(
        [temporal_cli(), "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    found = re.search(r"Server (\S+), UI (\S+)\)", version_line)
    assert found, version_line
    assert resolve(expr) == found[1]
    assert resolve(services["temporal-ui"]["image"]).split(":")[1] == found[2]
    # and a version can be chosen at `up` time
    assert resolve(services["temporal"]["image"], {"TEMPORAL_VERSION": "9.9.9"}).endswith(":9.9.9")


def test_published_ports_are_loopback_only_and_distinct(
    services: dict[str, dict[str, Any]],
) -> None:
    published: dict[str, tuple[str, int, int]] = {}
    for name, svc in services.items():
        for spec in svc.get("ports", []):
            host_ip, host_port, container_port = resolve(spec).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond loopback"
            published[name] = (host_ip, int(host_port), int(container_port))
    assert {n: p[1] for n, p in published.items()} == {
        "temporal": 7233,
        "temporal-ui": 8080,
        "reference-services": 8700,
        "worker": 9464,
        "codec-server": 8081,
    }
    assert "postgresql" not in published  # only the cluster reaches the database
    # the container side is where the app listens
    assert published["reference-services"][2] == int(
        env_of(services["reference-services"])["REFSVC_PORT"]
    )
    assert published["worker"][2] == int(env_of(services["worker"])["CAMPAIGN_METRICS_PORT"])
    assert published["codec-server"][2] == int(
        env_of(services["codec-server"])["CAMPAIGN_CODEC_PORT"]
    )


def test_start_order_waits_for_health_and_one_shot_steps(
    services: dict[str, dict[str, Any]],
) -> None:
    def deps(name: str) -> dict[str, str]:
        raw = services[name].get("depends_on", {})
        assert isinstance(raw, dict), f"{name}: depends_on needs conditions"
        return {dep: spec["condition"] for dep, spec in raw.items()}

    assert deps("temporal-schema") == {"postgresql": "service_healthy"}
    assert deps("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert deps("temporal-namespace") == {"temporal": "service_healthy"}
    assert deps("temporal-ui") == {"temporal": "service_healthy"}
    assert deps("worker") == {
        "temporal-namespace": "service_completed_successfully",
        "reference-services": "service_healthy",
    }
    for name in services:
        for dep, condition in deps(name).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck"
            if condition == "service_completed_successfully":
                assert "restart" not in services[dep] or str(services[dep]["restart"]).startswith(
                    "on-failure"
                ), f"{dep} is one-shot: it must not restart forever"
    # acyclic: a start order exists
    order: list[str] = []
    pending = dict.fromkeys(services)
    while pending:
        ready = [n for n in pending if all(d in order for d in deps(n))]
        assert ready, f"dependency cycle among {sorted(pending)}"
        for n in ready:
            order.append(n)
            del pending[n]
    assert order.index("postgresql") < order.index("temporal") < order.index("worker")


def _env_names(settings_class: type[BaseSettings]) -> set[str]:
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def _temporal_env_is_read(name: str, value: str) -> bool:
    empty = ClientConfig.load_client_connect_config(override_env_vars={}, disable_file=True)
    with_var = ClientConfig.load_client_connect_config(
        override_env_vars={name: value}, disable_file=True
    )
    return with_var != empty


def test_app_environment_is_what_the_app_reads(services: dict[str, dict[str, Any]]) -> None:
    known = {
        "CAMPAIGN_": _env_names(Settings) | _env_names(CodecServerSettings),
        "REFSVC_": _env_names(ReferenceSettings),
    }
    for name, svc in app_services(services):
        for var, value in env_of(svc).items():
            if var.startswith("TEMPORAL_"):
                assert _temporal_env_is_read(var, value or "x"), f"{name}: {var} is not envconfig"
                continue
            prefix = var.split("_", 1)[0] + "_"
            assert prefix in known, f"{name}: {var} is read by nothing"
            assert var in known[prefix], f"{name}: {var} is not a setting"


def test_worker_environment_validates_and_points_inside_the_cluster(
    services: dict[str, dict[str, Any]],
) -> None:
    env = env_of(services["worker"])
    values: dict[str, Any] = {
        k.removeprefix("CAMPAIGN_").lower(): v
        for k, v in env.items()
        if k.startswith("CAMPAIGN_") and v
    }
    settings = Settings(_env_file=None, **values)
    host, port = env["TEMPORAL_ADDRESS"].split(":")
    assert host == "temporal" and port == "7233"
    refsvc = env_of(services["reference-services"])
    for service in ServiceName:
        url = settings.service_url(service)
        assert url == f"http://reference-services:{refsvc['REFSVC_PORT']}", service
        token = settings.service_token(service)
        assert token is not None and token.get_secret_value() == refsvc["REFSVC_REQUIRE_TOKEN"]
    assert settings.metrics_host == "0.0.0.0" and settings.metrics_port == 9464
    # optional features stay off when their variables are unset
    assert settings.encryption_keys is None and settings.webhook_url is None
    assert settings.tracing == "off"


def test_services_inside_containers_bind_all_interfaces_with_a_token(
    services: dict[str, dict[str, Any]],
) -> None:
    values: dict[str, Any] = {
        k.removeprefix("REFSVC_").lower(): v
        for k, v in env_of(services["reference-services"]).items()
    }
    refsvc = ReferenceSettings(**values)
    assert refsvc.host == "0.0.0.0"
    assert refsvc.require_token is not None, "beyond loopback the services must require a token"
    assert "${CAMPAIGN_SERVICES_TOKEN:?" in str(
        services["reference-services"]["environment"]["REFSVC_REQUIRE_TOKEN"]
    ), "the token has no default: the operator must choose one"
    codec = env_of(services["codec-server"])
    assert codec["CAMPAIGN_CODEC_HOST"] == "0.0.0.0"
    ui_origin = "http://localhost:8080"
    assert ui_origin in codec["CAMPAIGN_CODEC_CORS_ORIGINS"].split(",")
    assert "encryption" in services["codec-server"]["profiles"]


def test_registered_search_attributes_are_the_workflows(
    services: dict[str, dict[str, Any]],
) -> None:
    env = env_of(services["temporal-namespace"])
    registered = dict(item.split("=") for item in env["SEARCH_ATTRIBUTES"].split())
    types = {"KEYWORD": "Keyword", "INT": "Int", "KEYWORD_LIST": "KeywordList", "BOOL": "Bool"}
    assert registered == {
        key.name: types[key.indexed_value_type.name] for key in search_attributes.ALL
    }
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    worker_ns = env_of(services["worker"])["TEMPORAL_NAMESPACE"]
    assert env["NAMESPACE"] == worker_ns


def test_mounted_scripts_and_config_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        command = svc.get("command") or []
        if svc.get("entrypoint") == ["/bin/sh"]:
            script = command[0]
            host_dir = next(v.split(":")[0] for v in svc["volumes"] if ":/scripts" in v)
            path = ROOT / host_dir / Path(script).name
            assert path.is_file() and os.access(path, os.X_OK), path
            if shutil.which("sh"):
                subprocess.run(["sh", "-n", str(path)], check=True, timeout=10)
    temporal_env = env_of(services["temporal"])
    dyn = temporal_env["DYNAMIC_CONFIG_FILE_PATH"].removeprefix("config/dynamicconfig/")
    assert (ROOT / "deploy/temporal/dynamicconfig" / dyn).is_file()
    assert temporal_env["DB"] == "postgres12" and temporal_env["POSTGRES_SEEDS"] == "postgresql"


def test_app_commands_exist(services: dict[str, dict[str, Any]]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, svc in app_services(services):
        command = svc["command"]
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, f"{name}: {command}"
        else:
            assert command[0] in scripts, f"{name}: {command[0]} is not a console script"


def test_dockerfile_installs_the_package() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert bases and ":" in bases[0] and not bases[0].endswith(":latest")
    # EXTRAS: the otel extra by default (the worker's image); the core alone when empty
    assert re.findall(r"^ARG EXTRAS=(.*)$", text, re.M) == ["otel"]
    (install,) = re.findall(r"^RUN (pip install .*)$", text, re.M)
    for extras, spec in {"otel": ".[otel]", "services": ".[services]", "": "."}.items():
        said = subprocess.run(
            ["sh", "-c", f"echo {install}"],
            env={"EXTRAS": extras},
            capture_output=True,
            text=True,
            check=True,
        )
        assert said.stdout.split() == [
            "pip", "install", "--no-cache-dir", "--prefix=/install", spec
        ], extras  # fmt: skip
    assert "pip install -e" not in text  # a real install, not a link to sources
    assert re.search(r"^COPY \. \.$", text, re.M)
    # nothing the package build needs is kept out of the build context
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= {f"{m}.py" for m in project["tool"]["setuptools"]["py-modules"]}
    needed |= {d.split("/")[0] for d in project["tool"]["setuptools"]["package-dir"].values()}
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for item in needed:
        assert (ROOT / item).exists(), item
        assert not any(fnmatch.fnmatch(item, pattern) for pattern in ignored), (
            f".dockerignore keeps {item} out of the image build"
        )
    assert ".venv" in ignored and ".git" in ignored and "tests" in ignored
    assert re.search(r'^CMD \["campaign-worker"\]', text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M), "the image runs as a non-root user"
