"""Every graderq setting, declared once with its type and default.

Values come from GRADERQ_* environment variables and a .env file in the working
directory; nested tables use `__`, e.g. GRADERQ_LIMIT_CEILINGS__MEMORY=512.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graderq.addresses import parse_allow, parse_subnets
from graderq.limits import Ceilings, Limits

LEASE_EVERY = 5.0
"""Seconds between a worker's renewals of the tasks it holds (and its heartbeats)."""
DEFAULT_PROFILES_FILE = Path(__file__).resolve().parent.parent / "configs" / "profiles.toml"
DEFAULT_LANGUAGES_FILE = DEFAULT_PROFILES_FILE.with_name("languages.toml")


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
    languages_file: Path = Field(
        DEFAULT_LANGUAGES_FILE,
        description="TOML file with [languages.ID] tables; sample programs in samples/ beside it.",
    )
    max_files: int = Field(
        10_000, description="Most files one request may write, with the directories they imply."
    )
    max_input_bytes: int = Field(
        256 * 1024 * 1024,
        description="Most bytes one request's files may carry in all (contents, names and "
        "the names of the directories they imply), and its stdin too.",
    )
    max_path_depth: int = Field(
        64, description="Most components of one file name (a/b/c is 3 deep)."
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
    default_runtime: str | None = Field(
        None,
        description="Docker runtime of profiles that name none (runsc, crun); unset: the "
        "daemon's default.",
    )
    disk_dir: Path = Field(
        Path("/var/lib/graderq/disks"),
        description="Where a worker keeps the image files of sandbox disks, each allocated "
        "in full (disk MB) when it is made.",
    )
    max_disks: int = Field(
        256,
        ge=1,
        description="Most disks (workdirs and sandboxes' own) one Docker host holds at once, "
        "counted from the images in disk_dir; beyond it TooManyDisks.",
    )
    sandbox_allow: str = Field(
        "",
        description="What sandboxes of profiles with network may reach: comma-separated "
        "CIDR or CIDR:PORT (TCP and UDP) entries; empty: nothing off the sandbox network.",
    )
    sandbox_uid_base: int = Field(
        100000,
        ge=1000,
        le=2**31 - 2**20,
        description="Host identities of sandboxes: each running sandbox has a UID of its own, "
        "sandbox_uid_base + 1 + its slot, and the GID sandbox_uid_base (shared by the "
        "pool, so the runs of one workdir share its files). No host user may use them.",
    )
    sandbox_uid_slots: int = Field(
        1024,
        ge=1,
        le=2**20,
        description="How many sandboxes may run at once on one machine (across every "
        "worker process and Docker daemon there): the size of the UID pool; beyond it "
        "TooManySandboxes.",
    )
    sandbox_subnets: str = Field(
        "198.18.0.0/16",
        description="The IPv4 range of the networks of sandboxes with network: each gets "
        "a /28 of its own, the one at its UID slot; it must hold sandbox_uid_slots of them "
        "and be used by nothing else on the host or its LAN.",
    )

    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker URL.")
    rabbitmq_queues: Literal["classic", "priority", "quorum"] = Field(
        "classic",
        description="RabbitMQ's kind of queue: classic, priority (classic with 10 "
        "priorities), or quorum (replicated; give it a delivery-limit policy).",
    )
    result_backend: str = Field(
        "redis://127.0.0.1:6379/1", description="Celery result backend URL (Redis)."
    )
    result_expires: float = Field(86400, description="Seconds a result is kept in the backend.")
    node: str | None = Field(
        None,
        description="This worker's Docker-host identity; unset: read from (or first written "
        "to) the graderq-node volume on its Docker daemon.",
    )
    task_time_limit: float = Field(
        600,
        description="Hard limit on one task's seconds; realtime above it minus the margin "
        "is refused by workers.",
    )
    task_time_margin: float = Field(
        30, description="Seconds Celery's time limits leave above a sandbox's realtime."
    )
    visibility_timeout: float = Field(
        60,
        description="Seconds after which Redis redelivers a task whose worker stopped "
        "renewing it (live workers renew theirs every 5 s).",
    )
    restore_interval: float = Field(
        5, description="Seconds between a worker's sweeps for unacknowledged tasks to redeliver."
    )
    max_deliveries: int = Field(
        3, description="Deliveries of one task before it fails instead of running again."
    )
    janitor_interval: float = Field(
        300, description="Seconds between a worker's sweeps for leftover containers/volumes."
    )
    workdir_timeout: float = Field(
        30,
        description="Seconds a producer waits for a worker to create a working directory "
        "before NoWorker.",
    )
    broker_timeout: float = Field(
        10,
        description="Seconds a producer waits for an unreachable broker or result backend "
        "before BackendUnavailable.",
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Key of the HMAC-SHA256 signature of webhook callbacks; unset: none sent."
    )
    webhook_retry_for: float = Field(
        600, description="Seconds a worker keeps retrying a webhook that fails, with backoff."
    )
    webhook_timeout: float = Field(10, description="Seconds one webhook POST may take.")
    result_retry_for: float = Field(
        90,
        description="Seconds a worker keeps trying to store a result while the result "
        "backend is away; after that the task is requeued, never acked and lost.",
    )
    max_queued: int = Field(
        10_000, description="Most tasks one tenant may have waiting; beyond, submit raises Busy."
    )
    metrics_port: int | None = Field(
        None, description="Port of the worker's Prometheus metrics; unset: not served."
    )
    report_output_bytes: int = Field(
        4096,
        ge=0,
        description="Bytes of each test's stdout and of its stderr a grading report keeps.",
    )

    @field_validator("default_limits", "limit_ceilings", mode="before")
    @classmethod
    def _numbers_from_environment(cls, value: Any) -> Any:
        """Environment values are strings; limits in requests must be real numbers."""
        if isinstance(value, dict):
            return {name: _number(item) for name, item in value.items()}
        return value

    @field_validator("sandbox_allow")
    @classmethod
    def _allow_entries(cls, value: str) -> str:
        parse_allow(value)
        return value

    @model_validator(mode="after")
    def _consistent_times(self) -> Settings:
        if self.visibility_timeout < 3 * LEASE_EVERY:
            raise ValueError(
                f"visibility_timeout must be at least {3 * LEASE_EVERY:.0f} s: workers renew "
                f"their tasks every {LEASE_EVERY:.0f} s"
            )
        if self.task_time_limit <= 2 * self.task_time_margin:
            raise ValueError("task_time_limit must be above twice task_time_margin")
        parse_subnets(self.sandbox_subnets, self.sandbox_uid_slots)
        return self


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("", "none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return value  # left for the limit's own validation to name


@cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()


def reference_table() -> str:
    """The configuration reference of docs/operators.md, generated from the Settings model."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if hasattr(default, "model_dump"):
            nested = ", ".join(f"{k}={v}" for k, v in default.model_dump().items())
            variable = f"`GRADERQ_{name.upper()}__<LIMIT>`"
            shown = f"`{nested}`"
        else:
            variable = f"`GRADERQ_{name.upper()}`"
            shown = "unset" if default is None else f"`{default}`"
            if name in ("profiles_file", "languages_file"):
                shown = f"`configs/{default.name}`"
        rows.append(f"| {variable} | {shown} | {field.description} |")
    return "\n".join(rows)
