"""The Kubernetes boundary: the only module that imports :mod:`kubernetes`.

Everything leaves this module as plain JSON-like dicts, and every failure as a
:class:`bridge.errors.KubernetesError` whose message says what to do:

- 403 names the missing permission (verb, group, resource, namespace) so an RBAC rule can be
  written from it — unless an admission webhook refused the object (Chaos Mesh's webhook is
  stricter than its CRD schema, and answers 403 too): that is :class:`AdmissionRefused`, in the
  webhook's own words, because no RBAC rule would help;
- 404 on a custom resource's collection means its CRD is not installed (install Chaos Mesh /
  the chaosblade-operator): :class:`CrdMissing`; a 404 on one named object is "absent" and
  reported as ``None``;
- 409 says the object already exists; timeouts and refused connections raise
  :class:`KubernetesUnavailable`, which engines retry.

No watches: engines poll with a bounded wait (``bridge.engines.waiting``). Calls are made with
``_preload_content=False`` and the JSON decoded here, so no generated model class (whose
validation is stricter than API servers are) ever sees a response.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bridge.errors import KubernetesError

JsonObject = dict[str, Any]

IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

# What to install when a group's CRDs are missing.
CRD_HINTS: dict[str, str] = {
    "chaos-mesh.org": "install Chaos Mesh (helm chart chaos-mesh/chaos-mesh; see docs/kubernetes.md)",
    "chaosblade.io": ("install the chaosblade-operator (helm chart chaosblade-operator; see docs/kubernetes.md)"),
}


# Built-in kinds read by discovery: plural → (API group, the generated client's method suffix).
BUILTIN_KINDS: dict[str, tuple[str, str]] = {
    "services": ("", "service"),
    "endpoints": ("", "endpoints"),
    "configmaps": ("", "config_map"),
    "secrets": ("", "secret"),
    "replicasets": ("apps", "replica_set"),
}


class KubernetesUnavailable(KubernetesError):
    """The API server could not be reached or did not answer in time: worth retrying."""


class AdmissionRefused(KubernetesError):
    """An admission webhook refused the request (not a permissions problem): its message says why."""


class CrdMissing(KubernetesError):
    """The custom resource's CRD is not installed on this cluster."""


def _webhook_refusal(said: str) -> bool:
    # The API server's wording for every webhook denial: 'admission webhook "<name>" denied the request: ...'
    return "admission webhook" in said and "denied the request" in said


@dataclass(frozen=True)
class CustomResource:
    """Where a custom resource kind lives in the API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}/{self.version}"


@dataclass(frozen=True)
class KubeOptions:
    """How to reach the cluster. ``in_cluster=None`` picks in-cluster config inside a pod."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    in_cluster: bool | None = None
    request_timeout_s: float = 15.0


@dataclass(frozen=True)
class _Op:
    """One API call, described for error messages."""

    verb: str
    resource: str  # plural, or e.g. "pods/log"
    group: str = ""
    namespace: str | None = None
    name: str | None = None

    def permission(self) -> str:
        res = f"{self.resource}.{self.group}" if self.group else self.resource
        where = f"in namespace {self.namespace!r}" if self.namespace else "cluster-wide"
        return f"verb {self.verb!r} on {res!r} {where}"

    def what(self) -> str:
        res = f"{self.resource}.{self.group}" if self.group else self.resource
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.verb} {res} {ns}{self.name or ''}".rstrip()


def _server_message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
        return str(message or body).strip()[:600]
    return str(exc.reason or "").strip()


def _map_api_exception(op: _Op, exc: ApiException, *, custom: CustomResource | None) -> KubernetesError:
    status = int(exc.status or 0)
    said = _server_message(exc)
    detail = f" (API server: {said})" if said else ""
    if _webhook_refusal(said):
        return AdmissionRefused(f"refused by the cluster's admission webhook: {op.what()}: {said}", status=status)
    if status == 401:
        return KubernetesError(
            f"unauthorized: the API server rejected our credentials for {op.what()}; "
            f"refresh the kubeconfig or token{detail}",
            status=401,
        )
    if status == 403:
        return KubernetesError(
            f"forbidden: {op.what()} needs RBAC permission {op.permission()}; "
            f"grant it to the identity mqdrill runs as (see demo-k8s/rbac/){detail}",
            status=403,
        )
    if status == 404 and custom is not None:
        hint = CRD_HINTS.get(custom.group, "install the operator that defines it")
        return CrdMissing(
            f"the custom resource {custom} is not installed on this cluster (404 on {op.what()}): {hint}",
            status=404,
        )
    if status == 409:
        return KubernetesError(f"conflict: {op.what()} already exists or was changed meanwhile{detail}", status=409)
    if status in (429,) or status >= 500:
        return KubernetesUnavailable(f"API server error {status} on {op.what()}{detail}", status=status)
    return KubernetesError(f"API error {status} on {op.what()}{detail}", status=status)


class Kube:
    """A connection to one cluster, with a default namespace. Build it with :meth:`connect`."""

    def __init__(self, api: k8s_client.ApiClient, *, namespace: str, request_timeout_s: float = 15.0) -> None:
        self._api = api
        self._custom = k8s_client.CustomObjectsApi(api)
        self._core = k8s_client.CoreV1Api(api)
        self._apps = k8s_client.AppsV1Api(api)
        self.namespace = namespace
        self.host = str(api.configuration.host)
        self._timeout = request_timeout_s

    @classmethod
    def connect(cls, options: KubeOptions | None = None) -> Kube:
        """Load kubeconfig (or in-cluster config) and return a client; config problems are errors."""
        opts = options or KubeOptions()
        cfg = k8s_client.Configuration()
        in_cluster = opts.in_cluster
        if in_cluster is None:
            in_cluster = opts.kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ
        namespace = opts.namespace
        try:
            if in_cluster:
                k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
                if namespace is None and IN_CLUSTER_NAMESPACE_FILE.exists():
                    namespace = IN_CLUSTER_NAMESPACE_FILE.read_text().strip()
            else:
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=opts.kubeconfig, context=opts.context, client_configuration=cfg
                )
                if namespace is None:
                    namespace = _context_namespace(opts.kubeconfig, opts.context)
        except (ConfigException, OSError, TypeError, ValueError, yaml.YAMLError) as exc:
            source = "in-cluster service account" if in_cluster else (opts.kubeconfig or "~/.kube/config")
            raise KubernetesError(f"cannot load Kubernetes configuration from {source}: {exc}") from exc
        # Retries are ours (bounded, with an injectable sleep), not urllib3's hidden ones.
        cfg.retries = False
        return cls(
            k8s_client.ApiClient(cfg),
            namespace=namespace or "default",
            request_timeout_s=opts.request_timeout_s,
        )

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    # -- the one place calls go through ------------------------------------------------------

    def _call(
        self, op: _Op, fn: Callable[..., Any], *args: Any, custom: CustomResource | None = None, **kwargs: Any
    ) -> Any:
        try:
            response = fn(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
        except ApiException as exc:
            raise _map_api_exception(op, exc, custom=custom) from exc
        except (urllib3.exceptions.MaxRetryError, urllib3.exceptions.NewConnectionError) as exc:
            raise KubernetesUnavailable(
                f"cannot reach the Kubernetes API server at {self.host} ({_reason(exc)}) during {op.what()}; "
                "is the cluster up and the kubeconfig current?"
            ) from exc
        except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
            raise KubernetesUnavailable(
                f"the Kubernetes API server at {self.host} did not answer within {self._timeout:g}s during {op.what()}"
            ) from exc
        except (urllib3.exceptions.ProtocolError, ConnectionError) as exc:
            raise KubernetesUnavailable(
                f"lost the connection to the Kubernetes API server at {self.host} during {op.what()}: {exc}"
            ) from exc
        return response

    def _json(
        self, op: _Op, fn: Callable[..., Any], *args: Any, custom: CustomResource | None = None, **kwargs: Any
    ) -> JsonObject:
        response = self._call(op, fn, *args, custom=custom, **kwargs)
        data = response.data
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError as exc:
            raise KubernetesError(f"{op.what()}: the API server answered with something that is not JSON") from exc
        return decoded if isinstance(decoded, dict) else {"value": decoded}

    def _ns(self, res: CustomResource, namespace: str | None) -> str | None:
        return (namespace or self.namespace) if res.namespaced else None

    # -- custom objects ---------------------------------------------------------------------

    def require(self, res: CustomResource) -> None:
        """Raise (404, with what to install) unless the API server serves ``res``.

        Discovery (``GET /apis/<group>/<version>``) is readable by every authenticated user
        (``system:discovery``), so this check needs no extra RBAC.
        """
        op = _Op("get", res.plural, res.group)
        listing = self._json(op, self._custom.get_api_resources, res.group, res.version, custom=res)
        names = {r.get("name") for r in listing.get("resources") or []}
        if res.plural not in names:
            hint = CRD_HINTS.get(res.group, "install the operator that defines it")
            raise CrdMissing(f"the custom resource {res} is not installed on this cluster: {hint}", status=404)

    def create(
        self, res: CustomResource, body: Mapping[str, Any], *, namespace: str | None = None, dry_run: bool = False
    ) -> JsonObject:
        """Create the object; ``dry_run``: the server validates and admits it (webhooks included)
        and stores nothing."""
        ns = self._ns(res, namespace or body.get("metadata", {}).get("namespace"))
        name = body.get("metadata", {}).get("name")
        op = _Op("create", res.plural, res.group, ns, name)
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        if ns is None:
            return self._json(
                op,
                self._custom.create_cluster_custom_object,
                res.group,
                res.version,
                res.plural,
                dict(body),
                custom=res,
                **extra,
            )
        return self._json(
            op,
            self._custom.create_namespaced_custom_object,
            res.group,
            res.version,
            ns,
            res.plural,
            dict(body),
            custom=res,
            **extra,
        )

    def get(self, res: CustomResource, name: str, *, namespace: str | None = None) -> JsonObject | None:
        """The object, or ``None`` when it does not exist."""
        ns = self._ns(res, namespace)
        op = _Op("get", res.plural, res.group, ns, name)
        try:
            if ns is None:
                return self._json(op, self._custom.get_cluster_custom_object, res.group, res.version, res.plural, name)
            return self._json(
                op, self._custom.get_namespaced_custom_object, res.group, res.version, ns, res.plural, name
            )
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    def list_objects(
        self,
        res: CustomResource,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        all_namespaces: bool = False,
    ) -> list[JsonObject]:
        selector = label_selector(labels or {})
        if res.namespaced and not all_namespaces:
            ns = self._ns(res, namespace)
            op = _Op("list", res.plural, res.group, ns)
            data = self._json(
                op,
                self._custom.list_namespaced_custom_object,
                res.group,
                res.version,
                ns,
                res.plural,
                label_selector=selector,
                custom=res,
            )
        else:  # cluster-scoped kinds, and namespaced ones across all namespaces: the same cluster-wide call
            op = _Op("list", res.plural, res.group)
            data = self._json(
                op,
                self._custom.list_cluster_custom_object,
                res.group,
                res.version,
                res.plural,
                label_selector=selector,
                custom=res,
            )
        return list(data.get("items") or [])

    def delete(self, res: CustomResource, name: str, *, namespace: str | None = None) -> bool:
        """Ask for deletion; ``False`` when the object was already gone."""
        ns = self._ns(res, namespace)
        op = _Op("delete", res.plural, res.group, ns, name)
        try:
            if ns is None:
                self._call(op, self._custom.delete_cluster_custom_object, res.group, res.version, res.plural, name)
            else:
                self._call(
                    op,
                    self._custom.delete_namespaced_custom_object,
                    res.group,
                    res.version,
                    ns,
                    res.plural,
                    name,
                )
        except KubernetesError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def patch(
        self,
        res: CustomResource,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        status: bool = False,
    ) -> JsonObject:
        """A JSON merge patch of the object (or of its ``/status`` subresource)."""
        ns = self._ns(res, namespace)
        op = _Op("patch", f"{res.plural}/status" if status else res.plural, res.group, ns, name)
        custom = self._custom
        if ns is None:
            fn: Callable[..., Any] = (
                custom.patch_cluster_custom_object_status if status else custom.patch_cluster_custom_object
            )
            return self._json(op, fn, res.group, res.version, res.plural, name, dict(patch))
        fn = custom.patch_namespaced_custom_object_status if status else custom.patch_namespaced_custom_object
        return self._json(op, fn, res.group, res.version, ns, res.plural, name, dict(patch))

    # -- pods ------------------------------------------------------------------------------

    def list_pods(
        self,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        all_namespaces: bool = False,
    ) -> list[JsonObject]:
        selector = label_selector(labels or {})
        if all_namespaces:
            data = self._json(_Op("list", "pods"), self._core.list_pod_for_all_namespaces, label_selector=selector)
        else:
            ns = namespace or self.namespace
            data = self._json(
                _Op("list", "pods", namespace=ns), self._core.list_namespaced_pod, ns, label_selector=selector
            )
        return list(data.get("items") or [])

    def events_for(self, obj: Mapping[str, Any]) -> list[JsonObject]:
        """The core/v1 Events about one object (by namespace, name and uid), oldest first.

        Controllers write what they could not do here (Chaos Mesh: ``Failed to select targets:
        no pod is selected``), not always in the object's status.
        """
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or self.namespace
        name, uid = meta.get("name"), meta.get("uid")
        op = _Op("list", "events", namespace=ns)
        data = self._json(op, self._core.list_namespaced_event, ns, field_selector=f"involvedObject.name={name}")
        items = [e for e in data.get("items") or [] if not uid or (e.get("involvedObject") or {}).get("uid") == uid]
        return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def get_namespace(self, name: str) -> JsonObject | None:
        """The namespace object, or ``None`` when it does not exist."""
        try:
            return self._json(_Op("get", "namespaces", name=name), self._core.read_namespace, name)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    def pod_log(
        self,
        pod: str,
        *,
        namespace: str | None = None,
        container: str | None = None,
        since_seconds: int | None = None,
        previous: bool = False,
        timestamps: bool = True,
    ) -> str:
        """The container's log text (``previous``: the container instance before the last restart)."""
        ns = namespace or self.namespace
        op = _Op("get", "pods/log", namespace=ns, name=pod)
        kwargs: dict[str, Any] = {"timestamps": timestamps, "previous": previous}
        if container:
            kwargs["container"] = container
        if since_seconds is not None:
            kwargs["since_seconds"] = max(1, int(since_seconds))
        response = self._call(op, self._core.read_namespaced_pod_log, pod, ns, **kwargs)
        data = response.data
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")

    # -- other built-in kinds discovery reads (each optional: a 403 is the caller's to degrade) --

    def list_builtin(
        self, plural: str, *, namespace: str | None = None, all_namespaces: bool = False
    ) -> list[JsonObject]:
        """Services, Endpoints, ConfigMaps (core/v1) or ReplicaSets (apps/v1), of one namespace or all."""
        group, singular = BUILTIN_KINDS[plural]
        api = self._apps if group == "apps" else self._core
        if all_namespaces:
            data = self._json(_Op("list", plural, group), getattr(api, f"list_{singular}_for_all_namespaces"))
        else:
            ns = namespace or self.namespace
            data = self._json(_Op("list", plural, group, ns), getattr(api, f"list_namespaced_{singular}"), ns)
        return list(data.get("items") or [])

    def read_builtin(self, plural: str, name: str, *, namespace: str | None = None) -> JsonObject | None:
        """One Secret, ConfigMap, … by name, or ``None`` when it does not exist."""
        group, singular = BUILTIN_KINDS[plural]
        api = self._apps if group == "apps" else self._core
        ns = namespace or self.namespace
        try:
            op = _Op("get", plural, group, ns, name)
            return self._json(op, getattr(api, f"read_namespaced_{singular}"), name, ns)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise


def label_selector(labels: Mapping[str, str]) -> str | None:
    """``{"a": "b", "c": "d"}`` → ``"a=b,c=d"`` (equality only: servers and mocks all agree on it)."""
    if not labels:
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text[:200]


def _context_namespace(kubeconfig: str | None, context: str | None) -> str | None:
    try:
        contexts, active = k8s_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=kubeconfig
        )
    except (ConfigException, OSError, TypeError, ValueError):
        return None
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    if not chosen:
        return None
    ns = chosen.get("context", {}).get("namespace")
    return str(ns) if ns else None
