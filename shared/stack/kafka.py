"""Apache Kafka (KRaft) from Maven jars: fetch, configure, format, launch, wait, create topics."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from string import Template
from typing import Any

from aiokafka.admin import NewTopic

from shared.kafka.admin import admin_client
from shared.settings import PROJECT_ROOT, Settings
from shared.stack.processes import StackError, alive, tail

DEPLOY = PROJECT_ROOT / "deploy" / "kafka"
POM = DEPLOY / "pom.xml"
TEMPLATE = DEPLOY / "server.properties.template"
LOG4J = DEPLOY / "log4j2.yaml"
# Written last into libs/: its presence (with the pom's hash) is what "complete" means.
_MARKER = ".landsync-complete"
_TOPIC_ALREADY_EXISTS = 36
#: The heap of a single node, and of each node of a cluster, unless LANDSYNC_KAFKA_HEAP says
#: otherwise: a cluster's three JVMs share the development machine with PostgreSQL and the
#: services.
SINGLE_HEAP, CLUSTER_HEAP = "768m", "512m"
#: In node 1's directory: how many nodes the cluster was formatted with (their quorum).
_NODES_FILE = "nodes"


def node_name(node: int) -> str:
    """The component name of a node (pid file, log): ``kafka`` for node 1, ``kafka-<n>`` after."""
    return "kafka" if node == 1 else f"kafka-{node}"


def node_dir(state_dir: Path, node: int) -> Path:
    """A node's directory (its server.properties and log directory) in the state directory."""
    return state_dir / node_name(node)


def replication(nodes: int) -> tuple[int, int]:
    """Replication factor and min.insync.replicas for a cluster of ``nodes``.

    Three replicas with two in sync survive any one node's death with no write lost or refused;
    two nodes get 2 and 1 (2 in sync would refuse every write while one is down).
    """
    factor = min(3, nodes)
    return factor, 2 if factor >= 3 else 1


def kafka_version() -> str:
    """The Kafka version the pom names (the pom is the single source of truth)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text("utf-8"))
    if match is None:
        raise StackError(f"{POM} has no <kafka.version> property")
    return match.group(1).strip()


def libs_dir(settings: Settings) -> Path:
    """Where the Kafka jars live once fetched."""
    return settings.cache_dir.resolve() / f"kafka-{kafka_version()}" / "libs"


def ensure_jars(settings: Settings) -> Path:
    """Fill the jar cache with Maven unless it is complete for the current pom; return it."""
    libs = libs_dir(settings)
    pom_hash = hashlib.sha256(POM.read_bytes()).hexdigest()
    marker = libs / _MARKER
    if marker.is_file() and marker.read_text("utf-8").strip() == pom_hash:
        return libs
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is needed to fetch Kafka's jars: apt-get install maven")
    # A fresh directory per attempt, renamed into place only once complete: an interrupted
    # download never passes for a finished one, and concurrent fetchers cannot mix files.
    tmp = libs.parent / f"libs.tmp-{uuid.uuid4().hex[:8]}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    argv = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"]
    argv += [f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
        shutil.rmtree(tmp, ignore_errors=True)
        raise StackError(
            f"Maven could not fetch Kafka's jars (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    (tmp / _MARKER).write_text(pom_hash, "utf-8")
    if libs.exists():  # stale or incomplete: move aside first, a rename cannot replace a dir
        old = libs.parent / f"libs.old-{uuid.uuid4().hex[:8]}"
        libs.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        tmp.rename(libs)
    except OSError:  # another process finished first: its copy is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    return libs


def _sasl_lines(settings: Settings, password: str | None) -> str:
    mechanism = settings.kafka_sasl_mechanism
    if mechanism is None or password is None:
        return ""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="{settings.kafka_sasl_username}" password="{password}";'
    )
    return "\n".join(
        [
            f"sasl.enabled.mechanisms={mechanism}",
            f"sasl.mechanism.inter.broker.protocol={mechanism}",
            f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config={jaas}",
        ]
    )


def write_config(
    settings: Settings, kafka_dir: Path, sasl_password: str | None = None, node: int = 1
) -> Path:
    """Render a node's server.properties (0600: it may hold the SASL password); return its path."""
    kafka_dir.mkdir(parents=True, exist_ok=True)
    kafka_dir.chmod(0o700)
    sasl = settings.kafka_sasl_mechanism is not None
    port, controller_port = settings.kafka_nodes[node - 1]
    voters = ",".join(
        f"{n}@127.0.0.1:{cport}" for n, (_, cport) in enumerate(settings.kafka_nodes, start=1)
    )
    factor, min_isr = replication(settings.kafka_brokers)
    text = Template(TEMPLATE.read_text("utf-8")).substitute(
        node_id=node,
        quorum_voters=voters,
        kafka_port=port,
        controller_port=controller_port,
        client_listener="SASL_PLAINTEXT" if sasl else "PLAINTEXT",
        sasl_lines=_sasl_lines(settings, sasl_password),
        log_dirs=kafka_dir / "data",
        replication_factor=factor,
        min_isr=min_isr,
        num_partitions=settings.topic_partitions,
    )
    props = kafka_dir / "server.properties"
    fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    props.chmod(0o600)
    return props


def new_cluster_id() -> str:
    """A fresh KRaft cluster id, which every node of one cluster is formatted with."""
    # Kafka's own ids avoid a leading '-', which its argument parser would read as an option.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def check_node_count(state_dir: Path, nodes: int) -> None:
    """Refuse a node count other than the one the cluster in ``state_dir`` was formatted with.

    The quorum's voters are fixed when the nodes are formatted, and the topics' replicas were
    placed on the nodes there were: a cluster cannot grow or shrink by a changed setting.
    Before the first node is formatted, the count is written down (so a start interrupted
    half-way cannot pass for a single node).
    """
    formatted = formatted_nodes(state_dir)
    if formatted is None:
        first = node_dir(state_dir, 1)
        first.mkdir(parents=True, exist_ok=True)
        first.chmod(0o700)
        (first / _NODES_FILE).write_text(f"{nodes}\n", "utf-8")
        return
    if formatted != nodes:
        dirs = " ".join(str(node_dir(state_dir, n)) for n in range(1, formatted + 1))
        raise StackError(
            f"Kafka in {state_dir} was formatted as {formatted} node(s), not {nodes}: use"
            f" {formatted} (LANDSYNC_KAFKA_BROKERS, `landsync up --brokers`), or run"
            f" `landsync down` and remove {dirs} (its topics are lost) to format it afresh"
        )


def formatted_nodes(state_dir: Path) -> int | None:
    """The node count the cluster in ``state_dir`` was formatted with; None when never formatted."""
    first = node_dir(state_dir, 1)
    if not (first / "data" / "meta.properties").exists():
        return None
    recorded = first / _NODES_FILE
    return int(recorded.read_text("utf-8")) if recorded.is_file() else 1


def cluster_id_of(state_dir: Path, nodes: int) -> str | None:
    """The cluster id a node of the cluster was formatted with, for a node formatted later."""
    for node in range(1, nodes + 1):
        meta = node_dir(state_dir, node) / "data" / "meta.properties"
        if meta.is_file():
            for line in meta.read_text("utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "cluster.id":
                    return value.strip()
    return None


def format_storage(
    libs: Path,
    props: Path,
    kafka_dir: Path,
    scram: tuple[str, str, str] | None = None,
    cluster_id: str | None = None,
) -> None:
    """Format the KRaft log directory once (skipped when meta.properties already exists).

    ``scram`` (mechanism, user, password) adds the user's SCRAM credential to the cluster's
    metadata, which only formatting can do before any client may connect. The nodes of one
    cluster share a ``cluster_id`` (default: a fresh one, for a single node).
    """
    marker = kafka_dir / "scram-user"
    if (kafka_dir / "data" / "meta.properties").exists():
        if scram is not None and not marker.is_file():
            raise StackError(
                f"LANDSYNC_KAFKA_SASL_MECHANISM is set, but Kafka's log directory in {kafka_dir}"
                " was formatted without SCRAM credentials: unset it, or run `landsync down` and"
                f" remove {kafka_dir} (its topics are lost) so that it is formatted afresh"
            )
        return
    argv = ["java", "-cp", f"{libs}/*", f"-Dlog4j2.configurationFile={LOG4J}"]
    cid = cluster_id or new_cluster_id()
    argv += ["kafka.tools.StorageTool", "format", "-t", cid, "-c", str(props), "-g"]
    if scram is not None:
        mechanism, user, password = scram
        argv += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")
    if scram is not None:
        marker.write_text(f"{scram[0]} {scram[1]}\n", "utf-8")


def heap(settings: Settings) -> str:
    """The heap of each node: LANDSYNC_KAFKA_HEAP when set, else smaller in a cluster."""
    if settings.kafka_heap is not None:
        return settings.kafka_heap
    return CLUSTER_HEAP if settings.kafka_brokers > 1 else SINGLE_HEAP


def java_argv(settings: Settings, libs: Path, props: Path) -> list[str]:
    """The broker's command line: the JVM options of Kafka's own start script, a bounded heap."""
    return [
        "java",
        "-Xms256m",
        f"-Xmx{heap(settings)}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(props),
    ]


async def _probe(bootstrap: str, options: dict[str, Any]) -> None:
    # A bare TCP connect first: aiokafka logs an error for every refused bootstrap attempt.
    host, port = bootstrap.rsplit(":", 1)
    _, writer = await asyncio.open_connection(host, int(port))
    writer.close()
    await writer.wait_closed()
    async with admin_client(bootstrap, request_timeout_ms=5000, **options) as admin:
        await admin.list_topics()


async def wait_ready(
    bootstrap: str,
    pid: int,
    log: Path,
    timeout: float = 90.0,
    options: dict[str, Any] | None = None,
) -> None:
    """Poll the broker with metadata requests until it answers; fail early if it died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await _probe(bootstrap, options or {})
        except Exception as exc:
            if not alive(pid):
                raise StackError(
                    f"Kafka exited during startup; {log} ends with:\n{tail(log)}"
                ) from exc
            if time.monotonic() > deadline:
                raise StackError(
                    f"Kafka not ready on {bootstrap} after {timeout:.0f} s ({exc!r}); "
                    f"{log} ends with:\n{tail(log)}"
                ) from exc
            await asyncio.sleep(0.5)
        else:
            return


async def wait_for_nodes(
    bootstrap: str, nodes: int, timeout: float = 60.0, options: dict[str, Any] | None = None
) -> None:
    """Wait until the cluster's metadata lists ``nodes`` brokers (a fenced one is not listed).

    Topics created before every node is unfenced get all their leaders on the nodes there were,
    and one node's death would then pause every partition at once.
    """
    deadline = time.monotonic() + timeout
    async with admin_client(bootstrap, request_timeout_ms=5000, **(options or {})) as admin:
        while len((await admin.describe_cluster())["brokers"]) < nodes:
            if time.monotonic() > deadline:
                raise StackError(f"Kafka's {nodes} nodes did not all join in {timeout:.0f} s")
            await asyncio.sleep(0.5)


async def ensure_topics(
    bootstrap: str,
    topics: dict[str, int],
    timeout: float = 30.0,
    options: dict[str, Any] | None = None,
    *,
    replicas: int = 1,
    min_isr: int | None = None,
) -> list[str]:
    """Create the topics that are missing with their partition counts; return those created.

    Each gets ``replicas`` replicas and, when given, its own ``min.insync.replicas``.
    """
    configs = {} if min_isr is None else {"min.insync.replicas": str(min_isr)}
    deadline = time.monotonic() + timeout
    created: list[str] = []
    async with admin_client(bootstrap, request_timeout_ms=10000, **(options or {})) as admin:
        while True:
            existing = set(await admin.list_topics())
            missing = [name for name in topics if name not in existing]
            if not missing:
                return created
            new = [
                NewTopic(name, topics[name], replicas, topic_configs=configs) for name in missing
            ]
            response = await admin.create_topics(new)
            created += [e[0] for e in response.topic_errors if e[1] == 0]
            errors = [e for e in response.topic_errors if e[1] not in (0, _TOPIC_ALREADY_EXISTS)]
            if not errors:
                return created
            # Right after startup the controller may not accept creations yet: retry briefly.
            if time.monotonic() > deadline:
                raise StackError(f"Kafka refused to create topics: {errors}")
            await asyncio.sleep(1.0)
