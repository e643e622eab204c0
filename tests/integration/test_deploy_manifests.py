"""The deployment files agree with the code they deploy.

Dockerfile, docker-compose.yml and deploy/ (Kubernetes base and production overlay, NATS
configuration) are checked against the services themselves: the settings they read, the ports they
listen on, the routes they serve, the command line, the NATS subjects they use. Nothing here needs
Docker or a cluster: `kubectl kustomize` renders offline, kubernetes-validate checks the output
against the 1.32 schemas, FastAPI apps are built without being started, and a local nats-server
runs the real NATS configuration with the four services (in this process) behind its users.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from fastapi import FastAPI
from natsfixtures import free_port, port_open, stop
from opseval_infra.fleet import make_broker
from opseval_intake.settings import IntakeSettings
from opseval_reporting.settings import ReportingSettings
from opseval_rules.settings import RulesSettings
from opseval_scoring.settings import ScoringSettings

from opseval import cli
from opseval.fleet import create_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_NATS_CONF = DEPLOY / "compose" / "nats.conf"
AUTH_CONF = K8S / "base" / "nats" / "auth.conf"
BUNDLE = ROOT / "examples" / "guangzhou-2023"

SETTINGS: dict[str, type[Any]] = {
    "intake": IntakeSettings,
    "rules": RulesSettings,
    "scoring": ScoringSettings,
    "reporting": ReportingSettings,
}
SERVICES = tuple(SETTINGS)
K8S_VERSION = "1.32.0"
MIN_GRACE_S = 30  # FastStream drains for 10 s, uvicorn for 20 s

KUBECTL = shutil.which("kubectl")
NATS_SERVER = shutil.which("nats-server") or next(
    (p for p in ("/usr/sbin/nats-server", "/usr/local/bin/nats-server") if Path(p).exists()), None
)
OPENSSL = shutil.which("openssl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed: cannot render the kustomizations")
needs_nats = pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed")

# Names of environment variables that hold secrets; their values must never be literals.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|(^|_)KEY$|STORE_URL")
# user:password@ in a URL
URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:([^@\s]+)@")
COMPOSE_REF = re.compile(r"\$\{(\w+)(?::?[-?+][^}]*)?\}")
WHOLE_COMPOSE_REF = re.compile(r"^\$\{\w+:\?[^}]+\}$")  # ${VAR:?message}: compose refuses to start without it


def env_fields(service: str) -> set[str]:
    """The environment variables a service reads: OPSEVAL_ + each settings field."""
    return {"OPSEVAL_" + name.upper() for name in SETTINGS[service].model_fields}


def default_port(service: str) -> int:
    port: int = SETTINGS[service].model_fields["http_port"].default
    return port


def secret_like(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


# Kubernetes: rendering and walking the output


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    assert KUBECTL is not None
    run = subprocess.run(
        [KUBECTL, "kustomize", str(OVERLAYS[overlay])], capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, f"kubectl kustomize {OVERLAYS[overlay]} failed:\n{run.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(run.stdout) if doc)


@pytest.fixture(params=sorted(OVERLAYS))
def docs(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: cannot render the kustomizations")
    return render(request.param)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]


def all_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod.get("initContainers", [])) + list(pod["containers"])


def service_deployments(docs: tuple[dict[str, Any], ...]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each opseval service's Deployment and its main container (the one that runs `serve`)."""
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for d in of_kind(docs, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            args = c.get("args", [])
            if args[:1] == ["serve"]:
                assert len(args) == 2, f"{d['metadata']['name']}: serve takes one service, got {args}"
                assert args[1] not in out, f"two Deployments serve {args[1]}"
                out[args[1]] = (d, c)
    assert sorted(out) == sorted(SERVICES), f"Deployments serve {sorted(out)}, not the four services"
    return out


def config_maps(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "ConfigMap")}


def container_env(docs: tuple[dict[str, Any], ...], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every environment variable of a container, envFrom ConfigMaps resolved: name -> source."""
    maps = config_maps(docs)
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"{container['name']}: envFrom only from ConfigMaps, got {source}"
        ref = source["configMapRef"]["name"]
        assert ref in maps, f"{container['name']}: envFrom names ConfigMap {ref}, which is not rendered"
        for key, value in maps[ref].items():
            env[source.get("prefix", "") + key] = {"value": value, "configMap": ref}
    for var in container.get("env", []):
        env[var["name"]] = var
    return env


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    numbers = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert numbers, f"{container['name']}: no container port named {port!r}"
    return int(numbers[0])


def probes(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {kind: container[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe") if kind in container}


def nats_statefulset(docs: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    sts = named(docs, "StatefulSet", "nats")
    (container,) = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "nats"]
    return sts, container


def nats_config(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    sts, _ = nats_statefulset(docs)
    volumes = sts["spec"]["template"]["spec"]["volumes"]
    (ref,) = [v["configMap"]["name"] for v in volumes if "configMap" in v]
    return config_maps(docs)[ref]


# The NATS configuration


@dataclass(frozen=True)
class NatsUser:
    name: str
    password_var: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def allowed_subjects(block: str, kind: str) -> tuple[str, ...]:
    match = re.search(kind + r":\s*\{\s*allow:\s*\[(.*?)\]", block, re.S)
    assert match, f"no {kind} allow list in {block[:40]!r}"
    return tuple(re.findall(r'"([^"]+)"', match.group(1)))


def nats_users(text: str) -> dict[str, NatsUser]:
    """The users of auth.conf: name, the variable holding the password, the allowed subjects."""
    users: dict[str, NatsUser] = {}
    for block in re.split(r"\n\s*\{\s*\n\s*user:", text)[1:]:
        name = block.split()[0]
        password = re.search(r"password:\s*(\S+)", block)
        assert password, f"user {name} has no password"
        assert password.group(1).startswith("$"), f"user {name}: the password is a literal, not a $VARIABLE"
        publish, subscribe = allowed_subjects(block, "publish"), allowed_subjects(block, "subscribe")
        users[name] = NatsUser(name, password.group(1)[1:], publish, subscribe)
    return users


def conf_variables(text: str) -> set[str]:
    """$VARIABLE references outside comments and quoted strings (nats-server expands only those)."""
    found: set[str] = set()
    for line in text.splitlines():
        line = re.sub(r'"[^"]*"', "", line.split("#", 1)[0])
        found.update(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", line))
    return found


def nats_version() -> tuple[int, int]:
    assert NATS_SERVER is not None
    out = subprocess.run([NATS_SERVER, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"v(\d+)\.(\d+)", out)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def for_local_server(text: str) -> str:
    """`sync_interval` (2.10+) is what a production server must have; a 2.9 server rejects the
    option, so for a local 2.9 server only that line goes."""
    if nats_version() >= (2, 10):
        return text
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("sync_interval"))


def check_nats_config(directory: Path, conf: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert NATS_SERVER is not None
    return subprocess.run(
        [NATS_SERVER, "-t", "-c", str(directory / conf)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=30,
    )


def new_password() -> str:
    """A password as deploy/compose/new-env.sh makes them (nats-server reads it as a string)."""
    return "p" + os.urandom(24).hex()


# compose


@functools.cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    """The compose services that run an opseval service, by the service they serve."""
    out: dict[str, dict[str, Any]] = {}
    for spec in compose()["services"].values():
        command = spec.get("command")
        if isinstance(command, list) and command[:1] == ["serve"]:
            out[command[1]] = spec
    return out


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in env:
            return env[name]
        default = re.match(r"\$\{\w+:?-([^}]*)\}", match.group(0))
        assert default, f"{name} is required but not given"
        return default.group(1)

    return COMPOSE_REF.sub(one, value)


def compose_env(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def dockerfile_entrypoint() -> list[str]:
    lines = [ln for ln in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines() if ln.startswith("ENTRYPOINT")]
    assert len(lines) == 1, "one ENTRYPOINT"
    entry: list[str] = json.loads(lines[0].removeprefix("ENTRYPOINT"))
    return entry


# The image


def test_the_image_installs_the_locked_workspace_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = pyproject["tool"]["uv"]["workspace"]["members"]
    # every member's pyproject.toml is in the dependency layer, and its sources in the context
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/" in dockerfile, member
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for needed in ("pyproject.toml", "uv.lock", *(m.split("/")[0] + "/" for m in members), "src/"):
        assert f"!{needed}" in ignore, f".dockerignore keeps {needed} out of the build context"
    assert "*" in ignore, "the build context is an allow-list (no .env, .venv or .git in the image)"
    syncs = re.findall(r"uv sync ([^\n\\]+)", dockerfile)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs), syncs
    python = re.search(r"ARG PYTHON_VERSION=(\d+\.\d+)", dockerfile)
    assert python and python.group(1) == "3.11"
    assert re.search(r"^USER (\d+)", dockerfile, re.M) and not re.search(r"^USER (0|root)\b", dockerfile, re.M)
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "gcc" not in final, "the runtime stage ships no compiler"


def test_the_gpl_test_server_is_a_test_dependency_only() -> None:
    """SecantusDB (GPL-2.0) is in the dev group, which the image leaves out (`--no-dev`, above), and
    no workspace member's runtime dependencies reach it, directly or through another package."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    reachable: set[str] = set()
    pending = [{"name": member} for member in lock["manifest"]["members"]]
    while pending:
        dependency = pending.pop()
        package = packages[dependency["name"]]
        extras = [e for e in dependency.get("extra", []) if f"{package['name']}[{e}]" not in reachable]
        if package["name"] in reachable and not extras:
            continue
        reachable |= {package["name"], *(f"{package['name']}[{e}]" for e in extras)}
        pending += package.get("dependencies", [])
        for extra in extras:
            pending += package.get("optional-dependencies", {}).get(extra, [])
    assert "pymongo" in reachable and "fastapi" in reachable  # the walk follows what the services use
    assert "secantusdb" not in reachable
    groups = packages["opseval"]["dev-dependencies"]
    assert {"name": "secantusdb"} in groups["dev"] and list(groups) == ["dev", "mongo-test"]


# Kubernetes tests


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_kustomize_renders_offline_and_every_object_is_valid_for_kubernetes_1_32(overlay: str) -> None:
    docs = render(overlay)
    problems = []
    for doc in docs:
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{what}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{what}: {exc.message}")
    assert not problems, "\n".join(problems)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for service in SERVICES:
        assert {("Deployment", service), ("Service", service), ("PodDisruptionBudget", service)} <= kinds
    assert {("StatefulSet", "nats"), ("Service", "nats"), ("Service", "nats-headless")} <= kinds
    assert {("Namespace", "opseval"), ("NetworkPolicy", "default-deny"), ("PodDisruptionBudget", "nats")} <= kinds
    assert all(d["metadata"].get("namespace", "opseval") == "opseval" for d in docs)


def test_every_opseval_variable_is_a_setting_the_service_reads(docs: tuple[dict[str, Any], ...]) -> None:
    for service, (_, container) in service_deployments(docs).items():
        names = {n for n in container_env(docs, container) if n.startswith("OPSEVAL_")}
        unknown = names - env_fields(service)
        assert not unknown, f"{service} does not read {sorted(unknown)}"
        assert {"OPSEVAL_NATS_URL", "OPSEVAL_STORE_URL", "OPSEVAL_SECRET_KEY", "OPSEVAL_HTTP_HOST"} <= names
    for _, pod in pod_templates(docs):
        for c in all_containers(pod):
            if c.get("args", [])[:1] != ["serve"]:
                assert not any(v["name"].startswith("OPSEVAL_") for v in c.get("env", [])), c["name"]


def test_each_deployment_runs_its_own_service(docs: tuple[dict[str, Any], ...]) -> None:
    assert dockerfile_entrypoint() == ["opseval"]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # (`run` is `main`, ending `evaluate` without the interpreter's teardown: `serve` ends as usual)
    assert re.search(r'^opseval = "opseval\.cli:run"$', pyproject, re.M), "the image's opseval is opseval.cli:run"
    for service, (deployment, container) in service_deployments(docs).items():
        assert "command" not in container, f"{service}: command would replace the image's ENTRYPOINT (opseval)"
        args = cli.parser().parse_args(container["args"])
        assert args.func is cli.cmd_serve and args.service == service
        assert deployment["metadata"]["name"] == container["name"] == service
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == service


def test_container_and_probe_ports_are_the_service_default_http_port(docs: tuple[dict[str, Any], ...]) -> None:
    for service, (_, container) in service_deployments(docs).items():
        port = default_port(service)
        assert [p["containerPort"] for p in container["ports"]] == [port], service
        env = container_env(docs, container)
        assert "OPSEVAL_HTTP_PORT" not in env, f"{service}: the default port is the one probed"
        assert env["OPSEVAL_HTTP_HOST"].get("value") == "0.0.0.0", f"{service} must listen beyond loopback"
        for kind, probe in probes(container).items():
            assert resolve_port(container, probe["httpGet"]["port"]) == port, f"{service} {kind}"
        svc = named(docs, "Service", service)
        assert [resolve_port(container, p["targetPort"]) for p in svc["spec"]["ports"]] == [port]
        assert svc["spec"]["selector"] == {"app.kubernetes.io/name": service}


@functools.cache
def served(service: str, path: str) -> int:
    """The status the service's app answers for GET path, built but never started (no lifespan:
    no NATS, no store)."""
    app = create_app(service, SETTINGS[service](environment="development"))

    async def get() -> int:
        transport = httpx.ASGITransport(app=app)  # sends requests only: the lifespan never runs
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
            return (await client.get(path)).status_code

    return asyncio.run(get())


def test_probe_paths_are_routes_the_service_serves(docs: tuple[dict[str, Any], ...]) -> None:
    for service, (_, container) in service_deployments(docs).items():
        paths = {kind: probe["httpGet"]["path"] for kind, probe in probes(container).items()}
        assert set(paths) == {"startupProbe", "livenessProbe", "readinessProbe"}, service
        assert paths["livenessProbe"] == "/healthz" and paths["readinessProbe"] == "/readyz", service
        for path in paths.values():
            assert served(service, path) not in (404, 405), f"{service} does not serve GET {path}"
    # liveness answers without dependencies; readiness waits for NATS and the store
    assert served("intake", "/healthz") == 200
    assert served("intake", "/readyz") == 503


def test_pods_get_time_to_drain(docs: tuple[dict[str, Any], ...]) -> None:
    for what, pod in pod_templates(docs):
        grace = pod.get("terminationGracePeriodSeconds", 30)
        assert grace > MIN_GRACE_S, f"{what}: terminationGracePeriodSeconds {grace}"
        for c in pod["containers"]:
            sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            assert grace > MIN_GRACE_S + sleep, f"{what}: preStop sleep {sleep} s eats into the drain"


def test_pods_run_non_root_with_read_only_root_file_systems(docs: tuple[dict[str, Any], ...]) -> None:
    for what, pod in pod_templates(docs):
        assert pod["securityContext"]["runAsNonRoot"] is True, what
        assert pod.get("automountServiceAccountToken") is False, what
        for c in all_containers(pod):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, (what, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (what, c["name"])
            assert {"requests", "limits"} <= set(c["resources"]), (what, c["name"])


def test_no_manifest_holds_a_secret(docs: tuple[dict[str, Any], ...]) -> None:
    assert not of_kind(docs, "Secret"), "Secrets are created outside the manifests (deploy/README.md)"
    for name, data in config_maps(docs).items():
        for key, value in data.items():
            assert not secret_like(key), f"ConfigMap {name} holds {key}"
            assert not URL_CREDENTIALS.search(value), f"ConfigMap {name}/{key} holds a URL with credentials"
            for match in re.finditer(r"password:\s*(\S+)", value):
                assert match.group(1).startswith("$"), f"ConfigMap {name}/{key}: a literal password"
    for what, pod in pod_templates(docs):
        for c in all_containers(pod):
            for var in c.get("env", []):
                if "value" in var:
                    assert not secret_like(var["name"]), f"{what} {c['name']}: {var['name']} is a literal"
                    assert not URL_CREDENTIALS.search(var["value"]), f"{what}: {var['name']} holds credentials"
                elif secret_like(var["name"]):
                    assert "secretKeyRef" in var.get("valueFrom", {}), f"{what}: {var['name']} not from a Secret"
    for path in [*DEPLOY.rglob("*"), COMPOSE, ROOT / "Dockerfile"]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "PRIVATE KEY-----" not in text, f"{path} holds a private key"


def test_each_service_authenticates_as_its_nats_user_with_the_servers_secret(docs: tuple[dict[str, Any], ...]) -> None:
    config = nats_config(docs)
    users = nats_users(config["auth.conf"])
    assert sorted(users) == sorted(SERVICES)
    _, nats = nats_statefulset(docs)
    nats_env = {v["name"]: v for v in nats["env"]}
    referenced = set().union(*(conf_variables(text) for text in config.values()))
    assert referenced <= set(nats_env), f"nats.conf uses {sorted(referenced - set(nats_env))}, not set"
    for service, (_, container) in service_deployments(docs).items():
        env = container_env(docs, container)
        assert env["OPSEVAL_NATS_USER"]["value"] == service
        served_by = env["OPSEVAL_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        checked_by = nats_env[users[service].password_var]["valueFrom"]["secretKeyRef"]
        assert served_by == checked_by, f"{service}: its password and the server's come from different keys"


def documented_secrets() -> dict[str, set[str]]:
    """The `kubectl create secret generic NAME --from-literal=KEY=… --from-file=KEY` commands of
    deploy/README.md: name -> keys."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for match in re.finditer(r"create secret generic (\S+)((?:.*\\\n)*.*)", readme):
        keys = set(re.findall(r"--from-literal=([\w.-]+)=", match.group(2)))
        keys |= set(re.findall(r"--from-file=([\w.-]+)", match.group(2)))
        out[match.group(1)] = keys
    return out


def test_the_readme_says_how_to_create_every_secret_the_manifests_use(docs: tuple[dict[str, Any], ...]) -> None:
    used: dict[str, set[str]] = {}
    for _, pod in pod_templates(docs):
        for c in all_containers(pod):
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    used.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                used.setdefault(volume["secret"]["secretName"], set()).update(
                    i["key"] for i in volume["secret"].get("items", [])
                )
    documented = documented_secrets()
    for name, keys in used.items():
        assert name in documented, f"deploy/README.md does not say how to create the Secret {name}"
        assert keys <= documented[name], f"{name}: the README's command lacks {sorted(keys - documented[name])}"


def test_consumers_scale_by_replicas_and_the_apis_by_autoscalers(docs: tuple[dict[str, Any], ...]) -> None:
    hpas = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "HorizontalPodAutoscaler")}
    assert hpas == {"intake", "reporting"}
    deployments = service_deployments(docs)
    for service in ("rules", "scoring"):
        assert deployments[service][0]["spec"]["replicas"] >= 2, service
    for service in hpas:
        assert "replicas" not in deployments[service][0]["spec"], f"{service}: the autoscaler owns the count"
    sts, _ = nats_statefulset(docs)
    for service, (_, container) in deployments.items():
        stream_replicas = int(container_env(docs, container)["OPSEVAL_STREAM_REPLICAS"]["value"])
        assert 1 <= stream_replicas <= sts["spec"]["replicas"] == 3, service


def ca_file_source(deployment: dict[str, Any], container: dict[str, Any]) -> tuple[str, str] | None:
    """The Secret and key the file named by the container's OPSEVAL_NATS_TLS_CA_FILE comes from."""
    path = Path(next(v["value"] for v in container.get("env", []) if v["name"] == "OPSEVAL_NATS_TLS_CA_FILE"))
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    volume = volumes.get(mounts.get(str(path.parent), ""), {})
    items = {i["path"]: i["key"] for i in volume.get("secret", {}).get("items", [])}
    if path.name not in items:
        return None
    return volume["secret"]["secretName"], items[path.name]


@needs_kubectl
def test_production_overlay_runs_production_on_tls_with_replicated_streams() -> None:
    docs = render("production")
    for service, (deployment, container) in service_deployments(docs).items():
        env = container_env(docs, container)
        assert env["OPSEVAL_ENVIRONMENT"]["value"] == "production"
        assert env["OPSEVAL_STREAM_REPLICAS"]["value"] == "3"
        assert env["OPSEVAL_NATS_URL"]["value"].startswith("tls://"), service
        assert env["OPSEVAL_NATS_TLS_REQUIRED"]["value"] == "true", service
        # the NATS CA, and only it, from the TLS Secret: the file OPSEVAL_NATS_TLS_CA_FILE names is mounted
        assert "SSL_CERT_FILE" not in env, f"{service}: the system trust store stays as it is (MongoDB/Atlas)"
        assert ca_file_source(deployment, container) == ("opseval-nats-tls", "ca.crt"), service
    config = nats_config(docs)
    tls_files = set(re.findall(r"_file:\s*(\S+)", config["tls.conf"] + config["cluster-tls.conf"]))
    assert tls_files and "verify: true" in config["cluster-tls.conf"]
    sts, nats = nats_statefulset(docs)
    secrets = {
        v["name"]: v["secret"]["secretName"] for v in sts["spec"]["template"]["spec"]["volumes"] if "secret" in v
    }
    mounts = {m["mountPath"]: secrets.get(m["name"]) for m in nats["volumeMounts"]}
    for path in tls_files:
        assert mounts.get(str(Path(path).parent)) == "opseval-nats-tls", f"{path} is not mounted from the TLS Secret"
    for _, pod in pod_templates(docs):
        for volume in pod.get("volumes", []):
            if (
                volume.get("secret", {}).get("secretName") == "opseval-nats-tls"
                and pod is not sts["spec"]["template"]["spec"]
            ):
                assert [i["key"] for i in volume["secret"]["items"]] == ["ca.crt"], "services get the CA only"
    base = render("base")
    assert (
        named(docs, "Deployment", "rules")["spec"]["replicas"] > named(base, "Deployment", "rules")["spec"]["replicas"]
    )


def self_signed(directory: Path, host: str) -> None:
    """tls.crt, tls.key and ca.crt as in the Secret opseval-nats-tls (here one self-signed
    certificate for `host`)."""
    if OPENSSL is None:
        pytest.skip("openssl is not installed: no certificate for the TLS configuration")
    directory.mkdir()
    subprocess.run(
        [
            *(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}"),
            *("-addext", f"subjectAltName=DNS:{host}"),
            *("-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt")),
        ],
        check=True,
        capture_output=True,
    )
    shutil.copy(directory / "tls.crt", directory / "ca.crt")


@needs_kubectl
@needs_nats
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_nats_server_accepts_the_rendered_configuration(overlay: str, tmp_path: Path) -> None:
    config = nats_config(render(overlay))
    for name, text in config.items():
        if name.endswith(".conf"):
            (tmp_path / name).write_text(for_local_server(text.replace("/etc/nats-tls/", f"{tmp_path}/tls/")))
    if "_file:" in config["tls.conf"]:
        self_signed(tmp_path / "tls", "nats")
    _, nats = nats_statefulset(render(overlay))
    env = {v["name"]: v.get("value", new_password()) for v in nats["env"]}
    env["POD_NAME"] = "nats-0"
    run = check_nats_config(tmp_path, "nats.conf", env)
    assert run.returncode == 0, run.stderr + run.stdout


@needs_kubectl
@needs_nats
@pytest.mark.slow
def test_in_production_the_services_trust_the_nats_certificate_through_the_ca_file(tmp_path: Path) -> None:
    """With the overlay's TLS settings (OPSEVAL_NATS_TLS_CA_FILE pointing at the mounted ca.crt,
    OPSEVAL_NATS_TLS_REQUIRED) a service's broker connects to a server with the overlay's tls.conf
    over tls:// — and without the CA file it cannot. (tests/integration/test_nats_tls.py goes further.)"""
    docs = render("production")
    self_signed(tmp_path / "tls", "localhost")
    port = free_port()
    tls_conf = nats_config(docs)["tls.conf"].replace("/etc/nats-tls/", f"{tmp_path}/tls/")
    (tmp_path / "tls.conf").write_text(tls_conf)
    (tmp_path / "nats.conf").write_text(f"listen: 127.0.0.1:{port}\ninclude ./tls.conf\n")

    deployment, container = service_deployments(docs)["intake"]
    assert "initContainers" not in deployment["spec"]["template"]["spec"]
    env = container_env(docs, container)
    assert ca_file_source(deployment, container) == ("opseval-nats-tls", "ca.crt")
    ca_file = tmp_path / "tls" / Path(env["OPSEVAL_NATS_TLS_CA_FILE"]["value"]).name  # the Secret's ca.crt, here
    url = env["OPSEVAL_NATS_URL"]["value"].replace("nats:4222", f"localhost:{port}")
    required = env["OPSEVAL_NATS_TLS_REQUIRED"]["value"] == "true"

    assert NATS_SERVER is not None
    proc = subprocess.Popen([NATS_SERVER, "-c", str(tmp_path / "nats.conf")], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.1)

        async def connects(settings: IntakeSettings) -> bool:
            broker = make_broker(settings)
            try:
                await asyncio.wait_for(broker.connect(), 5)
                return bool(broker.config.connection_state.connection.is_connected)
            except (TimeoutError, OSError):
                return False
            finally:
                with contextlib.suppress(Exception):
                    await broker.stop()

        production_tls = IntakeSettings(
            environment="development", nats_url=url, nats_tls_required=required, nats_tls_ca_file=ca_file
        )
        assert asyncio.run(connects(production_tls)), "the broker did not connect over TLS with the CA file"
        system_store = IntakeSettings(environment="development", nats_url=url, nats_tls_required=required)
        assert not asyncio.run(connects(system_store)), "without the CA file the certificate must not be trusted"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# compose tests


def test_compose_parses_and_runs_each_service_from_the_one_image() -> None:
    services = compose_services()
    assert sorted(services) == sorted(SERVICES)
    assert {"nats", "mongo"} <= set(compose()["services"])
    for service, spec in services.items():
        assert spec["build"] == "." and spec["image"] == "opseval:local", service
        args = cli.parser().parse_args(spec["command"])
        assert args.func is cli.cmd_serve and args.service == service
        assert spec["depends_on"] == {
            "nats": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }, service
        grace = re.fullmatch(r"(\d+)s", spec["stop_grace_period"])
        assert grace and int(grace.group(1)) > MIN_GRACE_S, service
    nats, mongo = compose()["services"]["nats"], compose()["services"]["mongo"]
    assert "-m" in nats["command"] and "8222" in nats["command"]
    assert "http://127.0.0.1:8222/healthz?js-enabled-only=true" in nats["healthcheck"]["test"]
    assert "mongosh" in mongo["healthcheck"]["test"] and "ping" in " ".join(mongo["healthcheck"]["test"])


def test_compose_variables_ports_and_healthchecks_match_the_services() -> None:
    for service, spec in compose_services().items():
        env = compose_env(spec)
        unknown = {n for n in env if n.startswith("OPSEVAL_")} - env_fields(service)
        assert not unknown, f"{service} does not read {sorted(unknown)}"
        assert env["OPSEVAL_HTTP_HOST"] == "0.0.0.0" and "OPSEVAL_HTTP_PORT" not in env
        port = default_port(service)
        published = [str(p).rsplit(":", 1)[-1] for p in spec["ports"]]
        assert published == [str(port)], service
        command = " ".join(spec["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", command)
        assert url and int(url.group(1)) == port and url.group(2) == "/readyz", service
        assert served(service, url.group(2)) == 503  # a route of the app, not ready until started


def test_compose_takes_every_secret_from_the_environment() -> None:
    required = "<required variable>"
    for name, spec in compose()["services"].items():
        for key, value in compose_env(spec).items():
            if secret_like(key) and key != "OPSEVAL_STORE_URL":
                assert WHOLE_COMPOSE_REF.match(value), f"{name}: {key} must be ${{VAR:?…}}, not {value!r}"
            # user:password@ in a URL: the password is a required variable
            marked = COMPOSE_REF.sub(lambda m: required if WHOLE_COMPOSE_REF.match(m.group(0)) else m.group(0), value)
            for match in URL_CREDENTIALS.finditer(marked.replace(" ", "")):
                assert match.group(1) == required.replace(" ", ""), f"{name}: {key} has a literal password"
    store_url = compose_env(compose_services()["intake"])["OPSEVAL_STORE_URL"]
    assert URL_CREDENTIALS.search(COMPOSE_REF.sub("REF", store_url)), "the store URL carries the MongoDB user"
    for match in re.finditer(r"password:\s*(\S+)", COMPOSE_NATS_CONF.read_text(encoding="utf-8")):
        assert match.group(1).startswith("$")


def test_compose_services_authenticate_with_the_password_the_server_checks() -> None:
    users = nats_users(AUTH_CONF.read_text(encoding="utf-8"))
    nats_env = compose_env(compose()["services"]["nats"])
    conf = COMPOSE_NATS_CONF.read_text(encoding="utf-8") + AUTH_CONF.read_text(encoding="utf-8")
    assert conf_variables(conf) <= set(nats_env)
    for service, spec in compose_services().items():
        env = compose_env(spec)
        assert env["OPSEVAL_NATS_USER"] == service
        assert env["OPSEVAL_NATS_PASSWORD"] == nats_env[users[service].password_var], service


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"the docker CLI has no compose plugin ({(probe.stderr or probe.stdout).strip()[:80]})")
    names = set(COMPOSE_REF.findall(COMPOSE.read_text(encoding="utf-8")))
    env = {**os.environ, **{n: new_password() for n in names}}
    run = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    missing = {k: v for k, v in env.items() if k not in names}
    run = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=missing,
        check=False,
    )
    assert run.returncode != 0, "compose must refuse to start without the secrets"


# The real NATS configuration, with the four services behind its users


@dataclass
class LocalNats:
    url: str
    monitor: int
    log: Path
    passwords: dict[str, str]

    def violations(self) -> list[str]:
        return [ln for ln in self.log.read_text(errors="replace").splitlines() if "Violation" in ln]


@pytest.fixture
def local_nats(tmp_path: Path) -> Iterator[LocalNats]:
    """nats-server with deploy/compose/nats.conf and auth.conf as compose mounts them; only the
    listen address and the store directory are this machine's."""
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed")
    port, monitor = free_port(), free_port()
    conf = COMPOSE_NATS_CONF.read_text(encoding="utf-8")
    conf = conf.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}")
    conf = conf.replace("store_dir: /data", f'store_dir: "{tmp_path / "js"}"')
    assert f"127.0.0.1:{port}" in conf and str(tmp_path / "js") in conf
    (tmp_path / "nats.conf").write_text(for_local_server(conf))
    shutil.copy(AUTH_CONF, tmp_path / "auth.conf")
    nats_env = compose_env(compose()["services"]["nats"])
    passwords = {name: new_password() for name in nats_env}
    log = tmp_path / "nats.log"
    command = [NATS_SERVER, *compose()["services"]["nats"]["command"]]
    command[command.index("-m") + 1] = str(monitor)
    command[command.index("--config") + 1] = str(tmp_path / "nats.conf")
    proc = subprocess.Popen([*command, "-l", str(log)], env={**os.environ, **passwords}, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 15
        while not port_open(port):
            assert proc.poll() is None, f"nats-server exited: {log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, "nats-server did not listen"
            time.sleep(0.1)
        yield LocalNats(f"nats://127.0.0.1:{port}", monitor, log, passwords)
    finally:
        stop(proc, 15)


def settings_from_compose(service: str, nats: LocalNats, store: Path) -> Any:
    """The service's settings from its compose environment, as the container would read them
    (OPSEVAL_ENVIRONMENT=production checks included), pointed at the local server and store."""
    spec = compose_services()[service]
    given = nats.passwords | {"OPSEVAL_SECRET_KEY": new_password(), "MONGO_OPSEVAL_PASSWORD": new_password()}
    env = {name: interpolate(value, given) for name, value in compose_env(spec).items()}
    env["OPSEVAL_NATS_URL"] = nats.url
    env["OPSEVAL_STORE_URL"] = f"sqlite:///{store}"
    with pytest.MonkeyPatch.context() as mp:
        for name in os.environ:
            if name.startswith("OPSEVAL_"):
                mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        settings = SETTINGS[service]()
    assert settings.environment == "production" and settings.nats_user == service
    return settings


async def run_fleet(apps: dict[str, FastAPI], definition: bytes, events: bytes, count: int) -> dict[str, Any]:
    from opseval_infra.keys import create_key

    async with contextlib.AsyncExitStack() as stack:
        for name in ("reporting", "rules", "scoring", "intake"):
            await stack.enter_async_context(apps[name].router.lifespan_context(apps[name]))
        store = apps["reporting"].state.fleet.store
        _, token = await create_key(store, "permissions test administrator", "admin", ["*"])
        client = {
            name: await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url=f"http://{name}",
                    headers={"authorization": f"Bearer {token}"},
                )
            )
            for name, app in apps.items()
        }
        for name in apps:
            ready = await client[name].get("/readyz")
            assert ready.status_code == 200, f"{name}: {ready.text}"
        json_type = {"content-type": "application/json"}
        registered = await client["intake"].post("/v1/projects", content=definition, headers=json_type)
        assert registered.status_code in (200, 201), registered.text
        project = registered.json()["project"]
        pushed = await client["intake"].post("/v1/evidence", content=events, headers=json_type)
        assert pushed.status_code == 200 and pushed.json()["accepted"] == count, pushed.text[:2000]
        deadline = time.monotonic() + 120
        while True:
            scores = await client["reporting"].get(f"/v1/projects/{project}/scores")
            if scores.status_code == 200 and (
                scores.json()["events_folded"],
                scores.json()["findings_events_folded"],
            ) == (
                count,
                count,
            ):
                break
            assert time.monotonic() < deadline, f"no score of all {count} events: {scores.text[:500]}"
            await asyncio.sleep(0.2)
        letters = await client["reporting"].get("/v1/dead-letters")
        assert letters.json() == []
        result: dict[str, Any] = scores.json()
        return result


async def forbidden(nats: LocalNats) -> dict[str, list[str]]:
    """What the server refuses each user (and a client without one)."""
    import nats as nats_py
    from nats.errors import NoServersError

    refused: dict[str, list[str]] = {}

    async def attempt(user: str | None, action: Any) -> None:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        options: dict[str, Any] = {"allow_reconnect": False, "max_reconnect_attempts": 0, "error_cb": on_error}
        if user is not None:
            options |= {"user": user, "password": nats.passwords[f"{user.upper()}_NATS_PASSWORD"]}
        try:
            nc = await nats_py.connect(nats.url, **options)
        except (NoServersError, OSError, nats_py.errors.Error) as exc:
            refused.setdefault(str(user), []).append(f"connect: {exc}")
            return
        try:
            await action(nc)
            await nc.flush()
            await asyncio.sleep(0.3)
        finally:
            await nc.close()
        refused.setdefault(str(user), []).extend(errors)

    await attempt(None, lambda nc: nc.flush())
    await attempt("reporting", lambda nc: nc.publish("opseval.evidence.p.clock_in", b"{}"))
    await attempt("reporting", lambda nc: nc.publish("$JS.API.STREAM.DELETE.OPSEVAL_EVIDENCE", b""))
    await attempt("intake", lambda nc: nc.publish("opseval.findings.p", b"{}"))
    await attempt("rules", lambda nc: nc.subscribe("opseval.evidence.>"))
    await attempt("scoring", lambda nc: nc.publish("opseval.dlq.rules", b"{}"))
    return refused


@needs_nats
def test_the_fleet_works_within_its_nats_permissions_and_no_further(local_nats: LocalNats, tmp_path: Path) -> None:
    from opseval_intake.bundle import evidence_files, load_definition

    store = tmp_path / "opseval.db"
    apps = {s: create_app(s, settings_from_compose(s, local_nats, store)) for s in SERVICES}
    definition = load_definition(BUNDLE).model_dump_json().encode()
    lines = [
        ln for path in evidence_files(BUNDLE) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()
    ]
    events = ("[" + ",".join(lines) + "]").encode()

    scores = asyncio.run(run_fleet(apps, definition, events, len(lines)))
    assert scores["grade"] and scores["indicators"]
    assert not local_nats.violations(), "\n".join(local_nats.violations())

    # The compose healthcheck's URL is one the server answers.
    with httpx.Client() as client:
        health = client.get(f"http://127.0.0.1:{local_nats.monitor}/healthz?js-enabled-only=true")
    assert health.status_code == 200

    refused = asyncio.run(forbidden(local_nats))
    assert "Authorization Violation".lower() in " ".join(refused["None"]).lower(), refused
    for user in ("reporting", "intake", "rules", "scoring"):
        assert any("permissions violation" in e.lower() for e in refused[user]), (user, refused)
    logged = {
        m.groups() for m in map(re.compile(r'User "(\w+)", Subject "([^"]+)"').search, local_nats.violations()) if m
    }
    assert logged == {
        ("reporting", "opseval.evidence.p.clock_in"),
        ("reporting", "$JS.API.STREAM.DELETE.OPSEVAL_EVIDENCE"),
        ("intake", "opseval.findings.p"),
        ("rules", "opseval.evidence.>"),
        ("scoring", "opseval.dlq.rules"),
    }
