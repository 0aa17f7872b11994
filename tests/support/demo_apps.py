"""Load a demo service's own modules from their files, as the service runs them.

The demo services are separate applications, not packages of this project: each runs as a script
with its own folder and ``demo-k8s/common`` (the shared client keeper ``rmqkeeper`` and the shared
protections ``rmqprotect``) on its path.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

DEMO = Path(__file__).resolve().parents[2] / "demo-k8s"
COMMON = DEMO / "common"


def load_common(name: str) -> ModuleType:
    """demo-k8s/common/<name>.py under the name the services import it by (loaded once)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, COMMON / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def load_keeper() -> ModuleType:
    return load_common("rmqkeeper")


def load_protect() -> ModuleType:
    return load_common("rmqprotect")


@functools.cache
def load_module(relative: str, name: str) -> ModuleType:
    """``demo-k8s/<relative>.py`` (a service's own module other than app.py), once per session,
    registered as ``name``; the common modules it imports are loaded first."""
    load_keeper()
    load_protect()
    path = DEMO / f"{relative}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def load_service(relative: str) -> ModuleType:
    """``demo-k8s/<relative>/app.py``, with its own folder on the path; once per session (each
    service registers its metrics in the process-wide Prometheus registry)."""
    load_keeper()
    load_protect()
    name = "demo_" + relative.replace("/", "_")
    folder = DEMO / relative
    spec = importlib.util.spec_from_file_location(name, folder / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module
