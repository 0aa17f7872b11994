"""Running the ``blade`` CLI and reading what it says (as ``blade`` 1.8.0 really answers).

- success: one JSON line on stdout, exit 0: ``{"code":200,"success":true,"result":…}``;
- a failure blade found: one JSON line **on stderr**, stdout empty, exit 1
  (``{"code":47001,"success":false,"error":"invalid parameter `process`, …"}``);
- a bad flag or duration: **plain text** on stderr, exit 1 (``Error: unknown flag: --bogus``);
- an unknown target or action: the **help on stdout, exit 0** — a failure all the same; with
  flags after it, ``unknown flag: <the first flag>`` (plain text, exit 1), which we annotate.

Every ``create`` runs in a session of its own (``process.run(new_session=True)``): the
``sleep N; blade destroy`` shell it leaves behind is the fault's hard end and must outlive
mqdrill and any process-group kill aimed at mqdrill.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bridge import process
from bridge.errors import ProcessError


@dataclass(frozen=True)
class Envelope:
    """One parsed blade answer."""

    code: int
    success: bool
    result: Any
    error: str


def _find_envelope(text: str) -> Envelope | None:
    """The last JSON object with a ``code`` in ``text`` (blade may log lines before it)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        if isinstance(raw, dict) and "code" in raw:
            error = str(raw.get("error") or "")
            return Envelope(int(raw.get("code", 0)), bool(raw.get("success")), raw.get("result"), error)
    return None


def parse_envelope(stdout: str, argv: Sequence[str], stderr: str = "") -> Envelope:
    """blade's envelope from stdout, else from stderr (where 1.8.0 writes its failures)."""
    env = _find_envelope(stdout) or _find_envelope(stderr)
    if env is None:
        shown = (stdout.strip() or stderr.strip())[-200:] or "(nothing)"
        raise ProcessError(f"`{' '.join(argv)}` did not answer with a blade JSON envelope: {shown}")
    return env


def _plain_error(stderr: str, stdout: str) -> str:
    """The line that says what went wrong in cobra's plain-text failure (``Error: …``)."""
    lines = [ln.strip() for ln in (stderr or stdout).splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("Error:"):
            return ln.removeprefix("Error:").strip()
    return lines[0] if lines else "no output"


def judge(done: process.Completed) -> tuple[Envelope | None, str]:
    """blade's envelope (``None`` if it printed none) and a failure text ('' on success)."""
    shown = " ".join(done.argv)
    env = _find_envelope(done.stdout) or _find_envelope(done.stderr)
    if env is None:
        if done.returncode != 0:
            said = _plain_error(done.stderr, done.stdout)
            if said.startswith("unknown flag:") and done.argv[1:2] == ("create",):
                # blade names the first flag it does not know, also when it knows no such target or action
                words = " ".join(w for w in done.argv[1:5] if not w.startswith("-"))
                said += f" (blade also says this when it has no `{words}` at all: see `blade {words} -h`)"
            return None, f"`{shown}` failed (exit {done.returncode}): {said}"
        head = next((ln.strip() for ln in done.stdout.splitlines() if ln.strip()), "no output")
        return None, (
            f"`{shown}` printed blade's help instead of running (an unknown target or action, or an OS "
            f"executor whose spec does not match this blade's version): {head[:120]}"
        )
    if not env.success or done.returncode != 0 or env.code != 200:
        return env, f"`{shown}` failed (blade code {env.code}): {env.error or 'no detail'}"
    return env, ""


def default_kubeconfig() -> str:
    """The kubeconfig the Kubernetes client would read: ``$KUBECONFIG``'s first file, else
    ``~/.kube/config``. blade 1.8.0 reads no ``$KUBECONFIG`` itself, so we name the file for it."""
    first = next((p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p), "")
    return os.path.expanduser(first or "~/.kube/config")


def kubeconfig_problem(path: str) -> str | None:
    """Why blade cannot use ``path``, or None. blade 1.8.0 drops a ``--kubeconfig`` that names no
    file and falls back to the in-cluster service account, so outside a pod it answers only
    "unable to load in-cluster configuration" and never names the file."""
    if os.path.isfile(path) or "KUBERNETES_SERVICE_HOST" in os.environ:
        return None  # in a pod, blade's fallback (the pod's service account) is what the user meant
    return (
        f"the kubeconfig {path} does not exist: blade would ignore it and look for an in-cluster service "
        "account; pass `--kubeconfig` to mqdrill or set KUBECONFIG"
    )


class BladeCli:
    """One ``blade`` executable: argv made runnable, run with a timeout, answers judged."""

    def __init__(self, blade: str, *, kubeconfig: str | None = None, timeout_s: float = 60.0) -> None:
        self.blade = blade
        self.kubeconfig = kubeconfig
        self.timeout_s = timeout_s

    def command(self, argv: Sequence[str]) -> list[str]:
        """A planned argv made runnable: our executable first, ``--kubeconfig`` for k8s commands."""
        args = list(argv)
        if args and os.path.basename(args[0]) == "blade":
            args = args[1:]
        if args[:2] == ["create", "k8s"]:
            if "--kubeconfig" not in args:
                args += ["--kubeconfig", self.kubeconfig or default_kubeconfig()]
            at = args.index("--kubeconfig") + 1
            # Ours wins over the planned one; no shell runs blade, so "~" is expanded here.
            args[at] = os.path.expanduser(self.kubeconfig or args[at])
        return [self.blade, *args]

    def answer(self, args: Sequence[str]) -> tuple[Envelope | None, str]:
        """Run one blade command; its envelope and a failure text (see :func:`judge`)."""
        argv = self.command(args)
        # create leaves its --timeout shell behind: a session of its own keeps it out of our reach.
        done = process.run(argv, timeout=self.timeout_s, check=False, new_session=args[:1] == ["create"])
        return judge(done)

    def run(self, args: Sequence[str]) -> Envelope:
        """Run one blade command; a failure is a :class:`ProcessError` in blade's own words."""
        env, failure = self.answer(args)
        if failure or env is None:
            raise ProcessError(failure)
        return env
