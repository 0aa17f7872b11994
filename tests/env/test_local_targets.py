"""The local engine acts on the environment's services, and on the user's own application when
`env up --app` started one; any other name is refused before anything is done."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.engines.base import LocalAction
from bridge.engines.local import LocalEngine
from bridge.env.config import EnvConfig
from bridge.env.userapp import UserApp
from bridge.errors import InjectionError


def _cfg(tmp_path: Path, app: UserApp | None) -> EnvConfig:
    return EnvConfig(state_dir=tmp_path / "s", cache_dir=tmp_path / "c", user_app=app)


def test_the_users_application_is_a_target_once_the_environment_runs_it(tmp_path: Path) -> None:
    kill = LocalAction("kill", "payments", {}, 60)
    with pytest.raises(InjectionError, match="unknown local service 'payments': allowed namesrv, broker"):
        LocalEngine._check(kill, _cfg(tmp_path, None))
    LocalEngine._check(kill, _cfg(tmp_path, UserApp(name="payments", argv=("/bin/true",))))
    LocalEngine._check(LocalAction("kill", "orders", {}, 60), _cfg(tmp_path, None))  # the second demo app
