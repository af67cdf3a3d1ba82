"""Profiles: a named Docker image with the user and the isolation it runs under.

A profile may carry its own default `limits` and `ceilings` (a JVM needs more memory
and processes than a C program). They merge as request > profile > the operator's
defaults, and a profile's ceiling only ever lowers the operator's (graderq.limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from graderq.config_files import read_tables
from graderq.errors import LimitError, ProfileError
from graderq.limits import Ceilings, check_names, merge


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Profile:
    """What a sandbox runs on: epicbox's Profile, validated."""

    name: str
    docker_image: str
    command: str | None = None
    user: str = "root"
    read_only: bool = False
    network_disabled: bool = True
    _: KW_ONLY
    limits: dict[str, Any] | None = None
    """This profile's default limits, over the operator's (a request's go over them)."""
    ceilings: dict[str, Any] | None = None
    """This profile's ceilings; each only lowers the operator's ceiling of that name."""
    runtime: str | None = None
    """The Docker runtime (runc, runsc, crun) by its name on the daemon; None:
    GRADERQ_DEFAULT_RUNTIME, or the daemon's default."""

    @field_validator("name", "docker_image", "runtime")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                merge(value)
            except LimitError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("ceilings")
    @classmethod
    def _ceilings(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                check_names(value)
            except LimitError as exc:
                raise ValueError(str(exc)) from None
            Ceilings.model_validate(value)
        return value


ProfileTable = Iterable[Profile] | Mapping[str, Mapping[str, Any]]
"""Profiles as `configure` takes them: a list of Profile or a dict of name -> options."""


def build_profiles(profiles: ProfileTable) -> dict[str, Profile]:
    """Turn a list of Profile, or a dict of name -> keyword arguments, into a name table."""
    if isinstance(profiles, Mapping):
        return {name: _make(name, options) for name, options in profiles.items()}
    table = {}
    for profile in profiles:
        if not isinstance(profile, Profile):
            raise ProfileError(f"expected a graderq.Profile, got {type(profile).__name__}")
        table[profile.name] = profile
    return table


def _make(name: str, options: Mapping[str, Any]) -> Profile:
    if not isinstance(options, Mapping):
        raise ProfileError(f"profile {name!r} must be a table of options")
    try:
        return Profile(name=name, **{k: v for k, v in options.items() if k != "name"})
    except (TypeError, ValidationError) as exc:
        raise ProfileError(f"profile {name!r} is invalid: {exc}") from None


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """Read the [profiles.NAME] tables of a TOML file."""
    return build_profiles(read_tables(path, "profiles", ProfileError))
