"""Session fixtures shared across test tiers."""

from tests.support.embedded import embedded_env  # noqa: F401 - one embedded environment per session
