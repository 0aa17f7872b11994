"""The real-component test bed: etcd, kube-apiserver (RBAC on), kube-controller-manager,
kube-scheduler, kwok (fake nodes: pods become Running without containers), the Chaos Mesh
controller-manager with its admission webhooks on (real TLS) and the chaosblade-operator.

Binaries come from ``scripts/testbed/build`` (cached by version outside the clone, see
``scripts/testbed/versions``). Everything listens on 127.0.0.1, on ports 32300-32399:

=====  ==========================================
32301  etcd clients        32302  etcd peers
32303  kube-apiserver      32310  Chaos Mesh webhooks (HTTPS)
32311  Chaos Mesh metrics  32312  chaosblade-operator metrics
32313  kwok's server (the nodes' kubelet endpoint)
=====  ==========================================

kwok plays the nodes' kubelet: its pods become Running with a ``containerID`` in every container
status (``kwok-pod-ready.yaml``: without one the chaosblade-operator v1.8.0 panics), and its
server, the nodes' kubelet endpoint, answers the API server's pods/exec and pods/log with a
refusal (nothing runs in a kwok pod). The chaosblade-tool DaemonSet of the operator's chart runs
one such pod a node (``chaosblade-tool-daemonset.yaml``).

kube-controller-manager and kube-scheduler serve nothing (``--secure-port=0``). Only one bed
runs on a machine at a time: :func:`start_bed` takes ``/tmp/mqdrill-realk8s.lock`` (a second
session waits for it) and kills what a killed earlier session left, by the pids it recorded.
"""

from __future__ import annotations

import base64
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from tests.realk8s.pki import Pki, make_pki
from tests.realk8s.rest import ApiError, Rest

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "scripts" / "testbed" / "versions"
LOCK_FILE = Path("/tmp/mqdrill-realk8s.lock")
PID_DIR = Path("/tmp/mqdrill-realk8s-pids")
KWOK_POD_READY = Path(__file__).with_name("kwok-pod-ready.yaml")

HOST = "127.0.0.1"
ETCD_PORT, ETCD_PEER_PORT, API_PORT = 32301, 32302, 32303
CHAOS_WEBHOOK_PORT, CHAOS_METRICS_PORT, OPERATOR_METRICS_PORT, KWOK_PORT = 32310, 32311, 32312, 32313
PORTS = (ETCD_PORT, ETCD_PEER_PORT, API_PORT, CHAOS_WEBHOOK_PORT, CHAOS_METRICS_PORT, OPERATOR_METRICS_PORT, KWOK_PORT)

CHAOS_MESH_NS = "chaos-mesh"
DEMO_NS = "mqdrill-demo"  # where demo-k8s/rbac grants its Role; annotated for Chaos Mesh's filter
UNANNOTATED_NS = "mqdrill-unannotated"  # the same workloads, without chaos-mesh.org/inject=enabled
FILTER_ANNOTATION = "chaos-mesh.org/inject"
NODES = ("kwok-node-0", "kwok-node-1")
# The demo shop's components as the catalog targets them: labels and container names.
WORKLOADS: dict[str, tuple[dict[str, str], str]] = {
    "rocketmq-namesrv": ({"app.kubernetes.io/name": "rocketmq-namesrv"}, "namesrv"),
    "rocketmq-broker": ({"app.kubernetes.io/name": "rocketmq-broker"}, "broker"),
    "rocketmq-proxy": ({"app.kubernetes.io/name": "rocketmq-proxy"}, "proxy"),
    "frontend": ({"app": "frontend"}, "frontend"),
    "cartservice": ({"app": "cartservice"}, "cartservice"),
}
# Chaos Mesh's chart registers one mutating and one validating webhook per kind (values.yaml
# webhook.CRDS), plus vauth.kb.io; the same list here.
WEBHOOK_KINDS = (
    "podchaos", "iochaos", "timechaos", "networkchaos", "kernelchaos", "stresschaos", "awschaos",
    "azurechaos", "gcpchaos", "dnschaos", "jvmchaos", "schedule", "workflow", "httpchaos", "blockchaos",
    "physicalmachinechaos", "physicalmachine", "statuscheck", "remotecluster",
)  # fmt: skip
WEBHOOK_PLURALS = {"schedule": "schedules", "workflow": "workflows", "physicalmachine": "physicalmachines"}
WEBHOOK_PLURALS["statuscheck"] = "statuschecks"


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            out[key.strip()] = value.strip()
    return out


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "mqdrill" / "testbed"
    return Path(os.environ.get("MQDRILL_TESTBED_CACHE") or default)


def component_dir(component: str, version_key: str) -> Path:
    return cache_dir() / f"{component}-{versions()[version_key]}"


def missing_components() -> list[str]:
    wanted = {
        "kubernetes": "KUBERNETES",
        "etcd": "ETCD",
        "kwok": "KWOK",
        "chaos-mesh": "CHAOS_MESH",
        "chaosblade-operator": "CHAOSBLADE_OPERATOR",
    }
    return [c for c, key in wanted.items() if not (component_dir(c, key) / ".built").exists()]


@dataclass
class Proc:
    """One component: how to start it, and the running process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool]
    ready_timeout_s: float = 90.0
    # Chaos Mesh v2.8.3 stops its manager on SIGTERM, then waits in its fx app for another
    # signal (controller-runtime's handler exits on the second): send it after this long.
    second_term_after_s: float | None = None
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = open(self.log, "ab")  # noqa: SIM115 - kept open while the process runs
        self._log.write(f"\n=== start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(  # noqa: S603 - our own argv
            self.argv,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a ^C to pytest reaches pytest, which stops the bed in order
        )
        PID_DIR.mkdir(exist_ok=True)
        (PID_DIR / self.name).write_text(str(self.popen.pid))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}\n{self.tail()}")
            try:
                if self.ready():
                    return
            except (OSError, ApiError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready within {self.ready_timeout_s:g}s; see {self.log}\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> str | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the problem if it had to be killed or was dead."""
        problem = None
        if self.popen is not None:
            if self.popen.poll() is not None:
                problem = f"{self.name} had already exited with {self.popen.returncode}"
            else:
                self.popen.send_signal(signal.SIGTERM)
                try:
                    if self.second_term_after_s is not None:
                        try:
                            self.popen.wait(timeout=self.second_term_after_s)
                        except subprocess.TimeoutExpired:
                            self.popen.send_signal(signal.SIGTERM)
                    self.popen.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait(timeout=10)
                    problem = f"{self.name} ignored SIGTERM for {timeout_s:g}s and was killed"
            self.popen = None
        if self._log is not None:
            self._log.close()
            self._log = None
        (PID_DIR / self.name).unlink(missing_ok=True)
        return problem

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _kill_stale() -> None:
    """Processes a killed earlier session left behind, found by the pids it wrote down."""
    if not PID_DIR.exists():
        return
    cache = str(cache_dir())
    for pidfile in PID_DIR.iterdir():
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            pidfile.unlink(missing_ok=True)
            continue
        if cache in cmdline:  # only what we started (a recycled pid is someone else's)
            os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        pidfile.unlink(missing_ok=True)


@dataclass
class Bed:
    """A running test bed. ``admin`` talks to its API server as cluster admin."""

    dir: Path
    pki: Pki
    admin: Rest
    kubeconfig: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    lock: IO[str] | None = None

    # -- components --------------------------------------------------------------------------

    def stop_component(self, name: str) -> None:
        self.procs[name].stop()

    def start_component(self, name: str) -> None:
        proc = self.procs[name]
        proc.start()
        proc.wait_ready()

    def restart(self, name: str) -> None:
        self.stop_component(name)
        self.start_component(name)

    def stop(self) -> list[str]:
        """Stop everything, in reverse order; what went wrong or was left behind."""
        problems = [p for proc in reversed(list(self.procs.values())) if (p := proc.stop()) is not None]
        deadline = time.monotonic() + 20
        while (busy := [p for p in PORTS if port_open(p)]) and time.monotonic() < deadline:
            time.sleep(0.5)
        problems += [f"port {p} still accepts connections after the bed stopped" for p in busy]
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        return problems

    # -- what tests need ---------------------------------------------------------------------

    def token_kubeconfig(self, path: Path, *, namespace: str, service_account: str) -> Path:
        """A kubeconfig for a ServiceAccount, with a token from the TokenRequest API."""
        review = self.admin.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 7200}},
        )
        return write_kubeconfig(path, self.pki, token=str(review["status"]["token"]), namespace=namespace)

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        query = f"labelSelector={selector}" if selector else ""
        return list(self.admin.get(f"/api/v1/namespaces/{namespace}/pods", query=query)["items"])


def write_kubeconfig(path: Path, pki: Pki, *, token: str | None = None, namespace: str = DEMO_NS) -> Path:
    user: dict[str, Any] = (
        {"token": token} if token else {"client-certificate": str(pki.admin_cert), "client-key": str(pki.admin_key)}
    )
    cluster = {"server": f"https://{HOST}:{API_PORT}", "certificate-authority": str(pki.ca)}
    context = {"cluster": "testbed", "user": "testbed-user", "namespace": namespace}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": cluster}],
        "users": [{"name": "testbed-user", "user": user}],
        "contexts": [{"name": "testbed", "context": context}],
        "current-context": "testbed",
    }
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def _procs(d: Path, pki: Pki, kubeconfig: Path, admin: Rest) -> dict[str, Proc]:
    k8s = component_dir("kubernetes", "KUBERNETES")
    etcd_dir = component_dir("etcd", "ETCD")
    kwok_dir = component_dir("kwok", "KWOK")
    cm_dir = component_dir("chaos-mesh", "CHAOS_MESH")
    cbo_dir = component_dir("chaosblade-operator", "CHAOSBLADE_OPERATOR")
    logs = d / "logs"
    logs.mkdir(exist_ok=True)
    kube_env = {"KUBECONFIG": str(kubeconfig)}
    etcd_url = f"http://{HOST}:{ETCD_PORT}"
    peer_url = f"http://{HOST}:{ETCD_PEER_PORT}"

    def etcd_ready() -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as r:  # noqa: S310 - loopback
            return b'"health":"true"' in r.read()

    def api_ready() -> bool:
        return admin.get("/readyz", raw=True).strip() == "ok"

    def sa_controller_ready() -> bool:  # the controller-manager's serviceaccount controller
        return admin.get_or_none("/api/v1/namespaces/default/serviceaccounts/default") is not None

    def webhook_ready() -> bool:
        return port_open(CHAOS_WEBHOOK_PORT)

    def always() -> bool:
        return True

    return {
        "etcd": Proc(
            "etcd",
            [
                str(etcd_dir / "etcd"), "--name=testbed", f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=testbed={peer_url}", "--log-level=warn", "--unsafe-no-fsync",
            ],
            {}, logs / "etcd.log", etcd_ready,
        ),
        "kube-apiserver": Proc(
            "kube-apiserver",
            [
                str(k8s / "kube-apiserver"), f"--etcd-servers={etcd_url}",
                f"--bind-address={HOST}", f"--advertise-address={HOST}", f"--secure-port={API_PORT}",
                f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca}", "--authorization-mode=RBAC",
                f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-account-issuer=https://{HOST}:{API_PORT}",
                "--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none",
                f"--cert-dir={d / 'apiserver-certs'}", "--profiling=false", "--v=0",
                "--allow-privileged=true",  # as clusters run (chaosblade-tool is privileged); off by default
                # pods/exec and pods/log go to kwok's server, the nodes' "kubelet" (InternalIP 127.0.0.1)
                "--kubelet-preferred-address-types=InternalIP", f"--kubelet-certificate-authority={pki.ca}",
                f"--kubelet-client-certificate={pki.admin_cert}", f"--kubelet-client-key={pki.admin_key}",
            ],
            {}, logs / "kube-apiserver.log", api_ready, 120.0,
        ),
        "kube-controller-manager": Proc(
            "kube-controller-manager",
            [
                str(k8s / "kube-controller-manager"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
                "--secure-port=0", f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca}",
                "--profiling=false", "--v=0",
            ],
            {}, logs / "kube-controller-manager.log", sa_controller_ready,
        ),
        "kube-scheduler": Proc(
            "kube-scheduler",
            [str(k8s / "kube-scheduler"), f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--secure-port=0",
             "--profiling=false", "--v=0"],
            {}, logs / "kube-scheduler.log", always,
        ),
        "kwok": Proc(
            "kwok",
            [
                str(kwok_dir / "kwok"), f"--kubeconfig={kubeconfig}", f"--config={d / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--node-ip={HOST}", f"--server-address={HOST}:{KWOK_PORT}", f"--node-port={KWOK_PORT}",
                # kwok renews each node's Lease, as a kubelet does: without it the node controller
                # finds no heartbeat after its grace period (the heartbeat stage fires every 10 min),
                # marks the nodes Unknown and kwok re-initialises them, losing status.addresses
                "--node-lease-duration-seconds=40",
                f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            ],
            {}, logs / "kwok.log", lambda: port_open(KWOK_PORT),
        ),
        "chaos-mesh": Proc(
            "chaos-mesh",
            [str(cm_dir / "chaos-controller-manager")],
            {
                **kube_env, "NAMESPACE": CHAOS_MESH_NS, "TEMPLATE_NAMESPACE": CHAOS_MESH_NS,
                "WEBHOOK_HOST": HOST, "WEBHOOK_PORT": str(CHAOS_WEBHOOK_PORT),
                "METRICS_HOST": HOST, "METRICS_PORT": str(CHAOS_METRICS_PORT), "PPROF_ADDR": "0",
                "CERTS_DIR": str(d / "webhook-certs"), "ENABLE_LEADER_ELECTION": "false",
                "CLUSTER_SCOPED": "true", "SECURITY_MODE": "true", "ENABLE_FILTER_NAMESPACE": "true",
                "TEMPLATE_LABELS": "app.kubernetes.io/component:template",
                "CONFIGMAP_LABELS": "app.kubernetes.io/component:webhook", "TZ": "UTC",
            },
            logs / "chaos-mesh.log", webhook_ready, second_term_after_s=5.0,
        ),
        "chaosblade-operator": Proc(
            "chaosblade-operator",
            [str(cbo_dir / "chaosblade-operator"), "--chaosblade-namespace=chaosblade", "--log-level=info",
             "--daemonset-enable"],  # as its chart passes it (v1.8.0 then only logs it),
            {
                **kube_env, "WATCH_NAMESPACE": "", "OPERATOR_NAME": "chaosblade-operator",
                "MQDRILL_METRICS_BIND_ADDRESS": f"{HOST}:{OPERATOR_METRICS_PORT}",
            },
            logs / "chaosblade-operator.log", lambda: port_open(OPERATOR_METRICS_PORT),
        ),
    }  # fmt: skip


def start_bed(d: Path) -> Bed:
    """Start every component and install what the tests expect; stop what started on failure."""
    missing = missing_components()
    if missing:
        raise RuntimeError(
            f"the real-component test bed is not built ({', '.join(missing)} missing in {cache_dir()}); "
            "run scripts/testbed/build (about 35 min cold on 2 cores; scripts/setup does it)"
        )
    LOCK_FILE.touch(exist_ok=True)
    lock = open(LOCK_FILE)  # noqa: SIM115 - held for the bed's life
    fcntl.flock(lock, fcntl.LOCK_EX)  # another session's bed: wait for it to stop
    _kill_stale()
    busy = [p for p in PORTS if port_open(p)]
    if busy:
        lock.close()
        raise RuntimeError(f"ports {busy} (of the test bed's 32300-32399) are taken by something else")
    pki = make_pki(d / "pki")
    kubeconfig = write_kubeconfig(d / "admin.kubeconfig", pki)
    admin = Rest(f"https://{HOST}:{API_PORT}", pki.ca, pki.admin_cert, pki.admin_key)
    procs = _procs(d, pki, kubeconfig, admin)
    bed = Bed(d, pki, admin, kubeconfig, procs, lock)
    try:
        _prepare_files(d, pki)
        for name in ("etcd", "kube-apiserver"):
            bed.start_component(name)
        from tests.realk8s import bootstrap

        bootstrap.before_controllers(bed)
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            bed.start_component(name)
        bootstrap.workloads(bed)
        bed.start_component("chaos-mesh")
        bootstrap.webhooks(bed, base64.b64encode(pki.ca.read_bytes()).decode())
        bed.start_component("chaosblade-operator")
    except BaseException:
        bed.stop()
        raise
    return bed


def _prepare_files(d: Path, pki: Pki) -> None:
    certs = d / "webhook-certs"
    certs.mkdir(exist_ok=True)
    (certs / "tls.crt").write_bytes(pki.serving_cert.read_bytes())
    (certs / "tls.key").write_bytes(pki.serving_key.read_bytes())
    # kwok exits with "no stages found" without Stage configs: the ones its module ships
    # (node fast, node heartbeat with lease, pod fast), concatenated; its pod-ready replaced by
    # ours, which also gives each container a containerID, as a kubelet does (KWOK_POD_READY).
    stage = component_dir("kwok", "KWOK") / "stage"
    parts = [
        (KWOK_POD_READY if p.name == "pod-ready.yaml" else p).read_text()
        for sub in ("node/fast", "node/heartbeat-with-lease", "pod/fast")
        for p in sorted((stage / sub).glob("*.yaml"))
        if p.name != "kustomization.yaml"
    ]
    (d / "kwok-stages.yaml").write_text("\n---\n".join(parts))
