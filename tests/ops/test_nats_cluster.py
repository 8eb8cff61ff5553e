"""deploy/nats/nats-cluster.conf as three real nats-servers on loopback.

Only what cannot run here is changed: each node listens on free loopback ports (clients,
routes, monitoring), its routes name those ports instead of the pods' DNS names, and it
stores in a temp folder. The three form one JetStream cluster; a stream replicated on all
three keeps taking writes with one node stopped, and catches that node up when it returns.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import free_port, nats_server_binary, wait_for_port
from chainwatch.shared import bus, subjects
from chainwatch.shared.settings import NatsSettings

NODES = 3


@dataclass
class Node:
    name: str
    folder: Path
    port: int
    route_port: int
    monitor_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


def node_config(text: str, node: Node, nodes: list[Node]) -> str:
    replacements = {
        "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{node.port}",
        "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{node.route_port}",
        "http: 0.0.0.0:8222": f"http: 127.0.0.1:{node.monitor_port}",
        "store_dir: /data": f"store_dir: {node.folder / 'jetstream'}",
    }
    for deployed, local in replacements.items():
        assert deployed in text, f"nats-cluster.conf no longer has {deployed!r}"
        text = text.replace(deployed, local)
    routes = re.findall(r"nats-route://nats-(\d)\.nats-headless:6222", text)
    assert routes == [str(n) for n in range(NODES)], routes
    return re.sub(
        r"nats-route://nats-(\d)\.nats-headless:6222",
        lambda m: f"nats-route://127.0.0.1:{nodes[int(m.group(1))].route_port}",
        text,
    )


class Cluster:
    def __init__(self, root: Path, accounts: ModuleType, repo_root: Path) -> None:
        self.template = (repo_root / "deploy" / "nats" / "nats-cluster.conf").read_text()
        self.accounts_conf = repo_root / "deploy" / "nats" / "accounts.conf"
        users = [accounts.ADMIN_USER, *(role.user for role in accounts.ROLES)]
        self.passwords = {user: "p" + secrets.token_hex(16) for user in users}
        self.env = {accounts.password_env(u): p for u, p in self.passwords.items()}
        self.nodes = [
            Node(f"nats-{n}", root / f"nats-{n}", free_port(), free_port(), free_port())
            for n in range(NODES)
        ]

    def start(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.accounts_conf, node.folder / "accounts.conf")
        config = node.folder / "nats-server.conf"
        config.write_text(node_config(self.template, node, self.nodes))
        env = {"PATH": os.environ.get("PATH", ""), "POD_NAME": node.name, **self.env}
        command = [str(nats_server_binary()), "-c", str(config), "-l", str(node.folder / "log")]
        node.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        wait_for_port(node.port)

    def stop(self, node: Node) -> None:
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
            try:
                node.process.wait(15)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    def settings(self, user: str) -> NatsSettings:
        return NatsSettings(
            url=",".join(node.url for node in self.nodes),
            user=user,
            password=self.passwords[user],
            connect_attempts=5,
        )


@pytest.fixture(scope="module")
def cluster(accounts: ModuleType, repo_root: Path) -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="chainwatch-ops-cluster-"))
    cluster = Cluster(root, accounts, repo_root)
    try:
        for node in cluster.nodes:
            cluster.start(node)
        yield cluster
    finally:
        for node in cluster.nodes:
            cluster.stop(node)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
async def admin(cluster: Cluster, wait_for: Any) -> AsyncIterator[NATS]:
    nc = await bus.connect(cluster.settings("admin"), "test-admin")

    async def jetstream_ready() -> bool:
        try:
            await nc.jetstream().account_info()
        except (nats.errors.Error, nats.js.errors.Error):
            return False
        return True

    await wait_for(jetstream_ready, 30, "a JetStream meta leader elected")
    yield nc
    await nc.drain()


async def replicate_on_every_node(js: Any, wait_for: Any) -> None:
    """What the operator does once on a cluster: raise the stream to three replicas."""
    await bus.ensure_streams(js, [subjects.TX_RAW_STREAM])
    config = (await js.stream_info(subjects.TX_RAW_STREAM.name)).config
    config.num_replicas = NODES
    await js.update_stream(config)
    await wait_for(lambda: _all_replicas_current(js), 30, "three current replicas")


async def _all_replicas_current(js: Any, messages: int | None = None) -> bool:
    try:
        info = await js.stream_info(subjects.TX_RAW_STREAM.name)
    except (nats.errors.Error, nats.js.errors.Error):
        return False
    replicas = info.cluster.replicas if info.cluster else None
    return (
        (messages is None or info.state.messages == messages)
        and info.cluster is not None
        and info.cluster.leader is not None
        and replicas is not None
        and len(replicas) == NODES - 1
        and all(r.current and not r.offline for r in replicas)
    )


async def test_the_three_nodes_form_one_jetstream_cluster(
    cluster: Cluster, admin: NATS, wait_for: Any
) -> None:
    js = admin.jetstream()
    await replicate_on_every_node(js, wait_for)

    info = await js.stream_info(subjects.TX_RAW_STREAM.name)

    assert info.cluster is not None
    assert info.cluster.name == "chainwatch"
    assert len(info.cluster.replicas or []) == NODES - 1


async def test_a_service_restart_keeps_the_replicas_the_operator_set(
    cluster: Cluster, admin: NATS, wait_for: Any
) -> None:
    js = admin.jetstream()
    await replicate_on_every_node(js, wait_for)

    scorer = await bus.connect(cluster.settings("scorer"), "test-scorer")
    try:
        await bus.ensure_streams(scorer.jetstream())
    finally:
        await scorer.drain()

    assert (await js.stream_info(subjects.TX_RAW_STREAM.name)).config.num_replicas == NODES


async def test_writes_go_on_with_one_node_down_and_it_catches_up(
    cluster: Cluster, admin: NATS, wait_for: Any
) -> None:
    js = admin.jetstream()
    await replicate_on_every_node(js, wait_for)
    before = (await js.stream_info(subjects.TX_RAW_STREAM.name)).state.messages
    ingest = await bus.connect(cluster.settings("ingest"), "test-ingest")
    ingest_js = ingest.jetstream(timeout=2)
    try:
        for n in range(10):
            await _publish_until_acked(ingest_js, f"a{n}")

        stopped = cluster.nodes[2]
        cluster.stop(stopped)
        # If the stopped node led the stream, the other two elect a leader first; ingest's
        # publisher retries until acked, and so does this.
        for n in range(10):
            await _publish_until_acked(ingest_js, f"b{n}")
        cluster.start(stopped)

        await wait_for(
            lambda: _all_replicas_current(js, before + 20), 30, "the restarted node caught up"
        )
    finally:
        await ingest.drain()


async def _publish_until_acked(js: Any, msg_id: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await js.publish(subjects.TX_RAW, b"{}", headers={bus.MSG_ID_HEADER: msg_id})
            return
        except (nats.errors.Error, nats.js.errors.Error):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
