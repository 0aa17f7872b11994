"""Execute report notebooks with papermill on a kernel we start ourselves and keep warm.

Why: most of a report's time is kernel start-up and imports (~2 s), not work (~0.3 s). A
:class:`WarmKernel` is started before the heavy imports on our side so the two overlap, and a
suite reuses one kernel per worker for all its drills (each notebook starts with ``%reset -f``,
which clears the variables; the imported modules stay, which is the point). The notebook is
saved once at the end, not after every cell.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bridge.errors import MqdrillError
from bridge.report.quiet import silence_notebook_warnings

KERNEL = "python3"


def notebooks_dir() -> Path:
    """The report notebooks: $MQDRILL_NOTEBOOKS, else the repository's notebooks/."""
    env = os.environ.get("MQDRILL_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"


def _tracking_manager(**kwargs: Any) -> Any:
    """A KernelManager that remembers the clients it hands out.

    Why: given our ``km``, papermill's client never stops the channels of the client it made
    (nbclient leaves that to whoever owns the kernel), so each report would leak four ZeroMQ
    sockets (and print ``ResourceWarning: Unclosed socket`` under ``python -W default``).
    """
    from jupyter_client.manager import KernelManager

    class TrackingKernelManager(KernelManager):
        handed_out: list[Any] = []

        def client(self, **kw: Any) -> Any:
            kc = super().client(**kw)
            self.handed_out.append(kc)
            return kc

        def stop_clients(self) -> None:
            while self.handed_out:
                self.handed_out.pop().stop_channels()

    km = TrackingKernelManager(**kwargs)
    km.handed_out = []  # per instance, not the class-level default
    return km


class WarmKernel:
    """One kernel process reused for several notebooks."""

    def __init__(self) -> None:
        # IPC sockets in a private temp dir: no TCP port, and no "running over TCP" warning.
        self._dir = tempfile.mkdtemp(prefix="mqdrill-kernel-")
        km = _tracking_manager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(self._dir, "k"))
        # A "python3" kernelspec installed elsewhere could point at another interpreter: use ours.
        spec = km.kernel_spec
        if spec is not None and spec.argv and "python" in Path(spec.argv[0]).name:
            spec.argv[0] = sys.executable
        self.km: Any = km
        self.km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])

    def execute(self, template: Path, output: Path, parameters: dict[str, Any]) -> None:
        """Run ``template`` with ``parameters`` into ``output``; raise MqdrillError on a failing cell."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        silence_notebook_warnings()
        try:
            papermill.execute_notebook(
                str(template),
                str(output),
                parameters=parameters,
                kernel_name=KERNEL,
                km=self.km,
                progress_bar=False,
                log_output=False,
                start_timeout=60,
                request_save_on_cell_execute=False,
            )
        except PapermillExecutionError as exc:
            raise MqdrillError(
                f"{output}: the report notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            ) from exc
        finally:
            self.km.stop_clients()

    def close(self) -> None:
        try:
            self.km.shutdown_kernel(now=True)
        except RuntimeError:
            pass  # already gone
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
