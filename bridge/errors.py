"""The errors mqdrill raises on purpose, and the exit code each maps to.

Every error a user can cause or meet is one of these; the CLI maps them to an exit code and
a one-line message, never a traceback. Boundaries (process, Kubernetes, Toxiproxy) raise them
``from`` the original exception so the cause stays visible with ``--debug``.

    MqdrillError                      exit 2 unless stated
    ├── InputError                    bad user input: a file, a flag, a field
    │   ├── DrillFileError            a drill/suite/catalog file: carries file, line, field
    │   └── UnsupportedCombination    scenario × cause × engine that no plan exists for
    ├── SafetyError                   refused by a blast-radius or namespace guard; nothing injected
    ├── EnvironmentError_             the embedded environment is missing a part or unhealthy
    ├── BoundaryError                 an outside system failed
    │   ├── ProcessError              a subprocess failed or timed out
    │   ├── KubernetesError           the API server answered with an error
    │   └── ToxiproxyError            the Toxiproxy API answered with an error
    ├── InjectionError                a fault could not be injected or confirmed
    ├── RecoveryError                 a fault could not be taken back (leftovers listed)
    ├── PreflightError                the steady state did not hold before injecting
    └── ArchiveError                  an archived run refuses a change, or a checksum differs
"""

from __future__ import annotations


class MqdrillError(Exception):
    """Base of every error mqdrill raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(MqdrillError):
    """Bad user input."""


class DrillFileError(InputError):
    """A problem in one file, located as precisely as we can: file, line, field path."""

    def __init__(self, file: str, problem: str, *, line: int | None = None, field: str | None = None) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
        where = file if line is None else f"{file}:{line}"
        at = f" at `{field}`" if field else ""
        super().__init__(f"{where}{at}: {problem}")


class UnsupportedCombination(InputError):
    """No engine plan exists for this scenario, cause and engine."""


class SafetyError(MqdrillError):
    """A guard refused the drill before anything was injected."""


class EnvironmentError_(MqdrillError):  # noqa: N801 - the builtin name is taken
    """The embedded environment is missing a part or is unhealthy."""


class BoundaryError(MqdrillError):
    """An outside system failed."""


class ProcessError(BoundaryError):
    """A subprocess failed, could not start, or timed out."""


class KubernetesError(BoundaryError):
    """The Kubernetes API server answered with an error (status kept for callers)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ToxiproxyError(BoundaryError):
    """The Toxiproxy API answered with an error."""


class InjectionError(MqdrillError):
    """A fault could not be injected or its effect could not be confirmed."""


class RecoveryError(MqdrillError):
    """One or more faults could not be taken back; ``leftovers`` names them."""

    def __init__(self, message: str, *, leftovers: list[str] | None = None) -> None:
        super().__init__(message)
        self.leftovers = leftovers or []


class PreflightError(MqdrillError):
    """The steady state did not hold before injection, or a target is missing."""


class ArchiveError(MqdrillError):
    """An archived run refuses a change, or its checksums no longer match."""
