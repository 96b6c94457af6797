"""deploy/compose.yaml, deploy/k8s/ and the Dockerfile name what the code really has.

Neither Docker nor Kubernetes runs on the development machine, so these files are checked against
the code instead: settings, modules, CLI options, HTTP routes, topics and file lists. Each check
is a function returning the problems it found; the ``test_*_catches_*`` tests feed it a broken
copy, so a check that can no longer fail does not pass silently.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import typer.core
import yaml
from starlette.routing import Match

from shared.cli.main import app as cli_app
from shared.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
POM = DEPLOY / "kafka" / "pom.xml"

_VAR = re.compile(r"\bLANDSYNC_[A-Z0-9_]+")
_SETTINGS = frozenset(f"LANDSYNC_{name.upper()}" for name in Settings.model_fields)
_SERVICE_MODULES = (
    "services.intake",
    "services.reconcile",
    "services.sync",
    "services.national_db",
)
Doc = dict[str, Any]


# ---------------------------------------------------------------------------- loading the files


def _load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


@cache
def _compose() -> Doc:
    (doc,) = _load(COMPOSE)
    return doc


@cache
def _k8s_files() -> dict[str, list[Doc]]:
    return {p.name: _load(p) for p in sorted(K8S.glob("*.yaml"))}


def _k8s() -> list[Doc]:
    return [d for docs in _k8s_files().values() for d in docs if d.get("kind") != "Kustomization"]


def _of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def _ours(image: str | None) -> bool:
    """Whether an image is the LandSync image (deploy/docker/Dockerfile)."""
    return image is not None and (image == "landsync" or image.startswith("landsync:"))


def _compose_services() -> dict[str, Doc]:
    """The compose services that run the LandSync image."""
    return {n: s for n, s in _compose()["services"].items() if _ours(s.get("image"))}


def _pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for doc in docs:
        if doc.get("kind") in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def _containers(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """Every LandSync container of the manifests, init containers included, with its pod."""
    for name, pod in _pod_specs(docs):
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            if _ours(container.get("image")):
                yield name, container


def _strings(node: Any) -> Iterator[str]:
    """Every key and scalar of a parsed YAML tree, as text."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif node is not None:
        yield str(node)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            found.append((op.upper(), args.strip()))
    return found


# -------------------------------------------------------- what the environment of a process is


def _compose_env(service: Doc) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _k8s_env(container: Doc, docs: list[Doc]) -> dict[str, str]:
    """A container's variables: envFrom ConfigMaps and Secrets, then env (which wins)."""
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in _of_kind(docs, "ConfigMap")}
    secrets = {
        d["metadata"]["name"]: {**d.get("data", {}), **d.get("stringData", {})}
        for d in _of_kind(docs, "Secret")
    }
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]])
        if "secretRef" in source:
            env.update(secrets[source["secretRef"]["name"]])
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = f"<secret {ref['name']}/{ref['key']}>" if ref else str(item["value"])
    return {k: str(v) for k, v in env.items()}


def _port_of(module: str, env: dict[str, str]) -> int:
    """The port a service module listens on with these variables (else the Settings default)."""
    field = {
        "services.intake": "intake_port",
        "services.reconcile": "reconcile_port",
        "services.sync": "sync_port",
        "services.national_db": "national_db_port",
    }[module]
    value = env.get(f"LANDSYNC_{field.upper()}", Settings.model_fields[field].default)
    return int(value)


# ------------------------------------------------------------------------------------- checks


def unknown_variables(texts: list[str]) -> set[str]:
    """``LANDSYNC_*`` names that are no field of :class:`Settings`."""
    return {name for text in texts for name in _VAR.findall(text)} - _SETTINGS


def command_problems(command: list[str]) -> list[str]:
    """Why a container command would not run: a missing module, an unknown CLI option."""
    if command[:2] == ["python", "-m"] and len(command) == 3:
        return _module_problems(command[2])
    if command[:1] == ["landsync"] and len(command) >= 2:
        return _cli_problems(command[1], command[2:])
    return [f"not a LandSync command: {command}"]


def _module_problems(module: str) -> list[str]:
    spec = importlib.util.find_spec(module)
    if spec is None:
        return [f"no module {module}"]
    if spec.submodule_search_locations is not None and (
        importlib.util.find_spec(f"{module}.__main__") is None
    ):
        return [f"{module} is a package without __main__"]
    return []


def _cli_problems(name: str, args: list[str]) -> list[str]:
    group = typer.main.get_command(cli_app)
    assert isinstance(group, typer.core.TyperGroup)
    sub = group.commands.get(name)
    if sub is None:
        return [f"no command landsync {name}"]
    try:
        # Parses the arguments as the real command line would, without running anything.
        sub.make_context(name, list(args))
    except typer.TyperException as exc:  # typer's own click: a UsageError, BadParameter…
        return [f"landsync {name} {' '.join(args)}: {exc}"]
    return []


def _module(command: list[str]) -> str | None:
    return command[2] if command[:2] == ["python", "-m"] and len(command) == 3 else None


@cache
def _served_paths(module: str) -> Callable[[str], bool]:
    """Whether the app of a service module answers GET on a path (built, never started)."""
    settings = Settings.model_construct()
    if module == "services.intake":
        from services.intake.app import create_app  # noqa: PLC0415

        return _starlette_gets(create_app(settings).router.routes)
    if module == "services.national_db":
        from services.national_db.__main__ import simulator  # noqa: PLC0415
        from services.national_db.app import build as build_simulator  # noqa: PLC0415

        return _starlette_gets(build_simulator(simulator(settings)).routes)
    # Reconcile and sync: the routes shared/kafka/runtime.py's ConsumerRuntime serves.
    builder = importlib.import_module(f"{module}.app").build
    routes = dict(builder(settings).app().routes)
    return lambda path: path in routes


def _starlette_gets(routes: list[Any]) -> Callable[[str], bool]:
    def served(path: str) -> bool:
        scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path}
        scope |= {"root_path": "", "headers": [], "query_string": b""}
        return any(route.matches(scope)[0] is Match.FULL for route in routes)

    return served


def probe_problems(module: str, path: str, port: int, env: dict[str, str]) -> list[str]:
    """Why a health probe of a service would fail: a path it does not serve, the wrong port."""
    problems = []
    if not _served_paths(module)(path):
        problems.append(f"{module} serves no GET {path}")
    if port != _port_of(module, env):
        problems.append(f"{module} listens on {_port_of(module, env)}, the probe asks {port}")
    return problems


def topic_problems(docs: list[Doc], expected: dict[str, int]) -> list[str]:
    """Differences between the KafkaTopic resources and the topics LandSync uses."""
    crs = _of_kind(docs, "KafkaTopic")
    got = {
        cr["spec"].get("topicName", cr["metadata"]["name"]): cr["spec"]["partitions"] for cr in crs
    }
    problems = [] if len(got) == len(crs) else ["a topic is declared twice"]
    problems += [
        f"{name}: {got.get(name)} partitions, Settings says {expected.get(name)}"
        for name in sorted(expected.keys() | got.keys())
        if got.get(name) != expected.get(name)
    ]
    return problems


def kustomization_problems(resources: list[str], files: set[str]) -> list[str]:
    """Files of deploy/k8s the kustomization leaves out, and resources that are no file."""
    listed = set(resources)
    return [f"not in kustomization.yaml: {f}" for f in sorted(files - listed)] + [
        f"no such file: {r}" for r in sorted(listed - files)
    ]


# ------------------------------------------------------------------------- settings, commands


def _all_texts() -> list[str]:
    texts = list(_strings(_compose())) + list(_strings(_k8s()))
    texts += [args for op, args in _dockerfile_instructions() if op == "ENV"]
    return texts


def test_every_landsync_variable_is_a_setting() -> None:
    texts = _all_texts()
    used = {name for text in texts for name in _VAR.findall(text)}
    # Not vacuous: the variables every deployment needs are there.
    assert {
        "LANDSYNC_KAFKA_BOOTSTRAP",
        "LANDSYNC_DATABASE_URL",
        "LANDSYNC_BIND_HOST",
        "LANDSYNC_NATIONAL_DB_URL",
        "LANDSYNC_NATIONAL_DB_TOKEN",
    } <= used
    assert unknown_variables(texts) == set()


def test_unknown_variables_catches_a_misspelt_setting() -> None:
    broken = copy.deepcopy(_compose())
    broken["services"]["sync"]["environment"]["LANDSYNC_NATIONAL_DB_TOKN"] = "x"
    assert unknown_variables(list(_strings(broken))) == {"LANDSYNC_NATIONAL_DB_TOKN"}


def _commands() -> list[tuple[str, list[str]]]:
    found = [(f"compose {n}", s["command"]) for n, s in _compose_services().items()]
    found += [(f"k8s {pod}/{c['name']}", c["command"]) for pod, c in _containers(_k8s())]
    return found


def test_every_container_runs_a_real_module_or_landsync_command() -> None:
    commands = _commands()
    modules = {_module(c) for _, c in commands}
    assert set(_SERVICE_MODULES) <= modules  # all four in compose
    assert ["landsync", "init"] in [c[:2] for _, c in commands]
    assert {where: command_problems(c) for where, c in commands if command_problems(c)} == {}


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (["python", "-m", "services.reconciler"], "no module"),
        (["python", "-m", "shared"], "without __main__"),
        (["landsync", "init", "--no-topic"], "No such option"),
        (["landsync", "init", "--timeout", "soon"], "valid number"),
        (["landsync", "initialise"], "no command"),
        (["uvicorn", "services.intake.app:create_app"], "not a LandSync command"),
    ],
)
def test_command_problems_catches_a_broken_command(command: list[str], problem: str) -> None:
    assert problem in " ".join(command_problems(command))


# ----------------------------------------------------------------------------- probes, ports


def _compose_probes() -> list[tuple[str, str, str, int, dict[str, str]]]:
    """(service, module, path, port, env) of every HTTP healthcheck in compose."""
    probes = []
    for name, service in _compose_services().items():
        module = _module(service["command"])
        test = service.get("healthcheck", {}).get("test", [])
        urls = [part for part in test if str(part).startswith("http://")]
        if module is None:
            assert not urls, name
            continue
        assert len(urls) == 1, f"compose {name} has no HTTP healthcheck"
        url = urlsplit(urls[0])
        assert url.hostname == "127.0.0.1", name  # probed from inside its own container
        probes.append((name, module, url.path, url.port or 80, _compose_env(service)))
    return probes


def _k8s_probes() -> list[tuple[str, str, str, int, dict[str, str]]]:
    """(container, module, path, port, env) of every HTTP probe in the manifests."""
    docs = _k8s()
    probes = []
    for pod, container in _containers(docs):
        module = _module(container["command"])
        if module is None:
            continue
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        env = _k8s_env(container, docs)
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            if kind not in container:
                assert kind == "startupProbe", f"{pod}/{container['name']} has no {kind}"
                continue
            get = container[kind]["httpGet"]
            port = get["port"] if isinstance(get["port"], int) else ports[get["port"]]
            # The containerPort must be where the service listens, not only what the probe asks.
            assert set(ports.values()) == {_port_of(module, env)}, pod
            probes.append((f"{pod}/{kind}", module, get["path"], port, env))
    return probes


def test_health_checks_ask_paths_the_services_serve_on_their_ports() -> None:
    compose = _compose_probes()
    k8s = _k8s_probes()
    assert {m for _, m, *_ in compose} == set(_SERVICE_MODULES)
    # The simulator is a development stand-in: compose only.
    assert {m for _, m, *_ in k8s} == set(_SERVICE_MODULES) - {"services.national_db"}
    problems = {
        where: probe_problems(module, path, port, env)
        for where, module, path, port, env in compose + k8s
    }
    assert {where: p for where, p in problems.items() if p} == {}


def test_probe_problems_catches_a_wrong_path_or_port() -> None:
    assert probe_problems("services.reconcile", "/ready", 18081, {}) == [
        "services.reconcile serves no GET /ready"
    ]
    assert probe_problems("services.intake", "/v1/records:ndjson", 18080, {})  # POST only
    assert probe_problems("services.sync", "/healthz", 18081, {}) == [
        "services.sync listens on 18082, the probe asks 18081"
    ]
    moved = {"LANDSYNC_NATIONAL_DB_PORT": "9"}
    assert probe_problems("services.national_db", "/healthz", 18090, moved) == [
        "services.national_db listens on 9, the probe asks 18090"
    ]
    assert probe_problems("services.national_db", "/healthz", 9, moved) == []
    assert probe_problems("services.national_db", "/healthz", 18090, {}) == []


def test_services_listen_on_every_interface_in_containers() -> None:
    for name, service in _compose_services().items():
        assert _compose_env(service).get("LANDSYNC_BIND_HOST") == "0.0.0.0", name
    docs = _k8s()
    for pod, container in _containers(docs):
        if _module(container["command"]):
            assert _k8s_env(container, docs).get("LANDSYNC_BIND_HOST") == "0.0.0.0", pod


# ------------------------------------------------------------------------------------- compose


def test_compose_wires_the_services_to_kafka_postgres_and_the_simulator() -> None:
    services = _compose()["services"]
    ours = _compose_services()
    for name, service in ours.items():
        env = _compose_env(service)
        bootstrap = env["LANDSYNC_KAFKA_BOOTSTRAP"]
        assert bootstrap.split(":")[0] in services, name
        assert f"PLAINTEXT://{bootstrap}" in services["kafka"]["environment"][
            "KAFKA_ADVERTISED_LISTENERS"
        ].split(",")
        assert urlsplit(env["LANDSYNC_DATABASE_URL"]).hostname in services, name
    sync, simulator = _compose_env(ours["sync"]), _compose_env(ours["national-db"])
    url = urlsplit(sync["LANDSYNC_NATIONAL_DB_URL"])
    assert url.hostname == "national-db"
    assert url.port == _port_of("services.national_db", simulator)
    assert sync["LANDSYNC_NATIONAL_DB_TOKEN"] == simulator["LANDSYNC_NATIONAL_DB_TOKEN"]


def test_compose_runs_init_once_before_the_services() -> None:
    services = _compose()["services"]
    init = services["init"]
    assert init["command"][:2] == ["landsync", "init"]
    assert "--no-topics" not in init["command"]  # compose has no operator to create them
    assert init["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert "healthcheck" in services["kafka"]
    assert "healthcheck" in services["postgres"]
    for name in ("intake", "reconcile", "sync"):  # the simulator needs neither schema nor topics
        assert services[name]["depends_on"]["init"] == {
            "condition": "service_completed_successfully"
        }, name


def test_compose_lets_the_consumers_scale() -> None:
    services = _compose()["services"]
    for name in ("reconcile", "sync"):
        # A fixed name or a host port would make a second replica fail to start.
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], name
    assert any(p.endswith(":18080") for p in services["intake"]["ports"])


def test_compose_uses_the_official_images_of_the_local_stack_versions() -> None:
    services = _compose()["services"]
    pom_version = re.search(r"<kafka\.version>([^<]+)<", POM.read_text(encoding="utf-8"))
    assert pom_version is not None
    assert services["kafka"]["image"] == f"apache/kafka:{pom_version.group(1)}"
    assert pom_version.group(1).startswith("4.")
    assert services["postgres"]["image"] in {"postgres:16", "postgres:17"}


# ------------------------------------------------------------------------------------ k8s


def test_kafka_topic_resources_are_exactly_the_settings_topics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = _k8s()
    # The settings a container would have: the ConfigMap's topic variables, nothing else.
    (config,) = _of_kind(docs, "ConfigMap")
    for name in [n for n in os.environ if n.startswith("LANDSYNC_")]:
        monkeypatch.delenv(name)
    for name, value in config.get("data", {}).items():
        monkeypatch.setenv(name, str(value))
    expected = Settings().topics.all()
    assert len(expected) == 7
    assert topic_problems(docs, expected) == []


def test_topic_problems_catches_a_wrong_partition_count_or_a_missing_topic() -> None:
    docs = copy.deepcopy(_k8s())
    topics = _of_kind(docs, "KafkaTopic")
    expected = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in topics}
    topics[0]["spec"]["partitions"] += 1
    assert topic_problems(docs, expected)
    docs.remove(topics[0])
    assert topic_problems(docs, expected)


def test_kafka_topics_belong_to_the_cluster_the_services_use() -> None:
    docs = _k8s()
    (kafka,) = _of_kind(docs, "Kafka")
    name = kafka["metadata"]["name"]
    (plain,) = [lsn for lsn in kafka["spec"]["kafka"]["listeners"] if not lsn["tls"]]
    (config,) = _of_kind(docs, "ConfigMap")
    assert config["data"]["LANDSYNC_KAFKA_BOOTSTRAP"] == f"{name}-kafka-bootstrap:{plain['port']}"
    brokers = sum(
        pool["spec"]["replicas"]
        for pool in _of_kind(docs, "KafkaNodePool")
        if pool["metadata"]["labels"]["strimzi.io/cluster"] == name
        and "broker" in pool["spec"]["roles"]
    )
    for topic in _of_kind(docs, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == name
        assert 1 <= topic["spec"]["replicas"] <= brokers
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False


def test_every_container_gets_the_database_url_from_cloudnativepg() -> None:
    docs = _k8s()
    (cluster,) = _of_kind(docs, "Cluster")
    app_secret = f"<secret {cluster['metadata']['name']}-app/uri>"
    containers = list(_containers(docs))
    assert containers
    for pod, container in containers:
        env = _k8s_env(container, docs)
        assert env["LANDSYNC_DATABASE_URL"] == app_secret, pod
        assert env["LANDSYNC_KAFKA_BOOTSTRAP"], pod
    (sync,) = [c for pod, c in containers if _module(c["command"]) == "services.sync"]
    assert {"LANDSYNC_NATIONAL_DB_URL", "LANDSYNC_NATIONAL_DB_TOKEN"} <= _k8s_env(sync, docs).keys()


def test_the_init_job_migrates_and_leaves_the_topics_to_strimzi() -> None:
    docs = _k8s()
    (job,) = _of_kind(docs, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["landsync", "init"]
    assert "--no-topics" in container["command"]
    assert "--wait" not in container["command"]
    # The service pods wait for it (and for the topics) before they start.
    for deployment in _of_kind(docs, "Deployment"):
        waits = deployment["spec"]["template"]["spec"].get("initContainers", [])
        assert [c["command"][:3] for c in waits] == [["landsync", "init", "--wait"]]


def _quantity(text: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match is not None, text
    return float(match.group(1)) * units.get(match.group(2), 1)


def test_deployments_have_limits_and_matching_selectors() -> None:
    docs = _k8s()
    deployments = _of_kind(docs, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {"intake", "reconcile", "sync"}
    for deployment in deployments:
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        pod = spec["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            resources = container["resources"]
            request = _quantity(resources["requests"]["memory"])
            limit = _quantity(resources["limits"]["memory"])
            assert request <= limit, container["name"]
        (main,) = pod["containers"]
        # Each service process stays under 300 MB; its limit leaves room above that.
        assert _quantity(main["resources"]["limits"]["memory"]) >= 512 * 2**20
    (service,) = _of_kind(docs, "Service")
    (intake,) = [d for d in deployments if d["metadata"]["name"] == "intake"]
    assert (
        service["spec"]["selector"].items()
        <= intake["spec"]["template"]["metadata"]["labels"].items()
    )
    ports = {p["name"] for p in intake["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_the_kustomization_lists_every_file() -> None:
    (kustomization,) = _k8s_files()["kustomization.yaml"]
    files = {p.name for p in K8S.iterdir()} - {"kustomization.yaml"}
    assert files
    assert kustomization_problems(kustomization["resources"], files) == []


def test_kustomization_problems_catches_a_forgotten_file() -> None:
    (kustomization,) = _k8s_files()["kustomization.yaml"]
    files = {p.name for p in K8S.iterdir()} - {"kustomization.yaml"}
    assert kustomization_problems(kustomization["resources"], files | {"forgotten.yaml"}) == [
        "not in kustomization.yaml: forgotten.yaml"
    ]
    assert kustomization_problems([*kustomization["resources"], "gone.yaml"], files) == [
        "no such file: gone.yaml"
    ]


# ---------------------------------------------------------------------------------- the image


def test_the_image_is_slim_unprivileged_and_without_secrets_or_dev_extras() -> None:
    instructions = _dockerfile_instructions()
    froms = [args for op, args in instructions if op == "FROM"]
    assert froms
    assert all(f.split()[0] == "python:3.11-slim" for f in froms)
    (user,) = [args for op, args in instructions if op == "USER"]
    assert user.split(":")[0] not in {"root", "0"}
    assert user.split(":")[0].isdigit()  # numeric, so runAsNonRoot can check it
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "pip install" in runs
    assert "[dev]" not in runs
    baked = " ".join(args for op, args in instructions if op in {"ENV", "ARG"})
    assert not re.search(r"TOKEN|PASSWORD|SECRET|DATABASE_URL", baked, re.IGNORECASE)
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".cache", ".landsync*", ".pytest_cache"} <= ignored


def test_only_sync_and_the_simulator_get_the_national_db_token() -> None:
    compose = {name: _compose_env(s) for name, s in _compose_services().items()}
    k8s = {f"{pod}/{c['name']}": _k8s_env(c, _k8s()) for pod, c in _containers(_k8s())}

    holders = {name for name, env in compose.items() if "LANDSYNC_NATIONAL_DB_TOKEN" in env}
    assert holders == {"sync", "national-db"}
    k8s_holders = [name for name, env in k8s.items() if "LANDSYNC_NATIONAL_DB_TOKEN" in env]
    assert len(k8s_holders) == 1
    assert k8s_holders[0].endswith("/sync")
    assert compose["national-db"]["LANDSYNC_NATIONAL_DB_BIND_HOST"] == "0.0.0.0"


def test_every_k8s_container_authenticates_to_kafka_as_the_kafka_user() -> None:
    docs = _k8s()
    (user,) = _of_kind(docs, "KafkaUser")
    (kafka,) = _of_kind(docs, "Kafka")
    name = user["metadata"]["name"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert {listener["authentication"]["type"] for listener in listeners} == {"scram-sha-512"}
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    for pod, container in _containers(docs):
        env = _k8s_env(container, docs)
        assert env["LANDSYNC_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", pod
        assert env["LANDSYNC_KAFKA_SASL_USERNAME"] == name, pod
        assert env["LANDSYNC_KAFKA_SASL_PASSWORD"] == f"<secret {name}/password>", pod
    acls = user["spec"]["authorization"]["acls"]
    prefixes = {a["resource"]["type"]: a["resource"].get("name", "") for a in acls}
    assert all(topic.startswith(prefixes["topic"]) for topic in Settings().topics.all())
    from services.reconcile.app import GROUP_ID as RECONCILE  # noqa: PLC0415
    from services.sync.app import GROUP_ID as SYNC  # noqa: PLC0415

    assert RECONCILE.startswith(prefixes["group"])
    assert SYNC.startswith(prefixes["group"])
