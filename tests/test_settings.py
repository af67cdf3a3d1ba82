import pytest
from pydantic import ValidationError

from graderq.settings import Settings


def test_environment_and_nested_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADERQ_LIMIT_CEILINGS__MEMORY", "512")
    monkeypatch.setenv("GRADERQ_DEFAULT_LIMITS__CPUTIME", "2")
    monkeypatch.setenv("GRADERQ_DOCKER_URL", "tcp://127.0.0.1:2375")
    settings = Settings()
    assert settings.limit_ceilings.memory == 512
    assert settings.default_limits.cputime == 2
    assert settings.docker_url == "tcp://127.0.0.1:2375"


def test_visibility_timeout_must_leave_room_for_three_renewals() -> None:
    with pytest.raises(ValidationError, match="visibility_timeout must be at least 15 s"):
        Settings(visibility_timeout=10)
    assert Settings(task_time_limit=600, visibility_timeout=60).visibility_timeout == 60
