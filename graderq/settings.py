"""Every graderq setting, declared once with its type and default.

Values come from GRADERQ_* environment variables and a .env file in the working
directory; nested tables use `__`, e.g. GRADERQ_LIMIT_CEILINGS__MEMORY=512.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from graderq.limits import Ceilings, Limits

DEFAULT_PROFILES_FILE = Path(__file__).resolve().parent.parent / "configs" / "profiles.toml"


class Settings(BaseSettings):
    """graderq's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="GRADERQ_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    docker_url: str | None = Field(
        None, description="Docker engine URL; unset: DOCKER_HOST or the local socket."
    )
    docker_timeout: float = Field(60, description="Seconds one Docker API call may take.")
    profiles_file: Path = Field(
        DEFAULT_PROFILES_FILE, description="TOML file with [profiles.NAME] tables."
    )
    workdir_ttl: float = Field(
        3600, description="Seconds after which an abandoned working directory is removed."
    )
    default_limits: Limits = Field(
        default_factory=Limits, description="Limits a request does not name."
    )
    limit_ceilings: Ceilings = Field(
        default_factory=Ceilings, description="Highest limits a request may ask for."
    )


@cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
