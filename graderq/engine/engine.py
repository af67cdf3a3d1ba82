"""An Engine: epicbox's API (run, create, start, destroy, working_directory) on one backend.

An Engine holds the profiles, the settings and one backend (one Docker host); a Sandbox
is one container it created.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from graderq import limits as limits_
from graderq.errors import ProfileError, WorkdirError
from graderq.profiles import Profile, ProfileTable, build_profiles, load_profiles
from graderq.request import SandboxFile, check_size, parse_command, parse_files, parse_stdin
from graderq.sandbox import Backend, to_result
from graderq.sandbox.spec import KIND_WORKDIR, WORKDIR_EXPIRES, owner_labels, run_spec
from graderq.settings import Settings, get_settings
from graderq.workdir import WorkingDirectory

log = logging.getLogger("graderq")


class Sandbox:
    """A created sandbox container; a context manager that destroys it on exit."""

    def __init__(self, engine: Engine, container: str, limits: limits_.Limits) -> None:
        self.engine = engine
        self.container = container
        self.limits = limits

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.engine.destroy(self)

    def __repr__(self) -> str:
        return f"<Sandbox: container={self.container[:12]}>"


class Engine:
    """Runs sandboxes with a set of profiles on one backend."""

    def __init__(
        self,
        profiles: ProfileTable | None = None,
        backend: Backend | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._profiles = None if profiles is None else build_profiles(profiles)
        self.backend: Backend = backend or self._docker(self.settings.docker_url)

    def configure(
        self,
        profiles: ProfileTable | None = None,
        docker_url: str | None = None,
        backend: Backend | None = None,
    ) -> None:
        """Replace what is given; keep the rest (epicbox's configure)."""
        if profiles is not None:
            self._profiles = build_profiles(profiles)
        if docker_url is not None:
            self.backend = self._docker(docker_url)
        if backend is not None:
            self.backend = backend

    def _docker(self, url: str | None) -> Backend:
        from graderq.sandbox.docker_backend import DockerBackend  # workers' dependency

        return DockerBackend.from_settings(self.settings, url)

    @property
    def profiles(self) -> dict[str, Profile]:
        """The configured profiles, else those of the settings' profiles file."""
        if self._profiles is None:
            self._profiles = load_profiles(self.settings.profiles_file)
        return self._profiles

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ProfileError(f"Profile not found: {name!r} (configured: {known})") from None

    def limits(
        self, limits: Mapping[str, Any] | None, profile: Profile | None = None
    ) -> limits_.Limits:
        """Merge over the profile's limits, and those over the settings' defaults; check
        against the settings' ceilings, lowered by the profile's."""
        settings = self.settings
        defaults = limits_.profile_defaults(
            settings.default_limits, profile.limits if profile else None
        )
        ceilings = limits_.lower_ceilings(
            settings.limit_ceilings, profile.ceilings if profile else None
        )
        return limits_.merge(limits, defaults, ceilings)

    def _check_size(self, files: list[SandboxFile], stdin: bytes | None) -> None:
        check_size(files, stdin, self.settings.max_files, self.settings.max_input_bytes)

    def create(
        self,
        profile_name: str,
        command: str | None = None,
        files: Iterable[Mapping[str, Any]] | None = None,
        limits: Mapping[str, Any] | None = None,
        workdir: WorkingDirectory | None = None,
    ) -> Sandbox:
        """Create a sandbox with `files` written into /sandbox, ready to start."""
        profile = self.profile(profile_name)
        if workdir is not None and not isinstance(workdir, WorkingDirectory):
            raise WorkdirError(
                "Invalid 'workdir': it must be created with graderq.working_directory()"
            )
        command = parse_command(command) or profile.command or "true"
        settings = self.settings
        checked_files = parse_files(
            files, settings.max_files, settings.max_input_bytes, settings.max_path_depth
        )
        self._check_size(checked_files, None)
        checked_limits = self.limits(limits, profile)
        if workdir is not None:
            self.backend.check_workdir(workdir.volume)
        volume = workdir.volume if workdir else None
        spec = run_spec(profile, command, checked_limits, volume, bool(checked_files))
        container = self.backend.create(spec)
        sandbox = Sandbox(self, container, checked_limits)
        if checked_files:
            try:
                self.backend.put_files(container, checked_files)
            except BaseException:
                self.destroy(sandbox)
                raise
        return sandbox

    def start(self, sandbox: Sandbox, stdin: bytes | str | None = None) -> dict[str, Any]:
        """Run the sandbox's command to its end; may be called again (epicbox)."""
        data = parse_stdin(stdin)
        self._check_size([], data)
        outcome = self.backend.start(sandbox.container, data, sandbox.limits)
        return to_result(outcome)

    def interact(self, first: Sandbox, second: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start two created sandboxes at once, cross-wired: each one's stdout is the
        other's stdin. The pair ends when both have ended, or at the first one's realtime
        (a deadlock); each keeps its own output cap. Their result dicts, in that order."""
        outcomes = self.backend.interact(
            first.container, first.limits, second.container, second.limits
        )
        return to_result(outcomes[0]), to_result(outcomes[1])

    def workdir_files(self, workdir: WorkingDirectory, profile_name: str) -> list[dict[str, Any]]:
        """The regular files in a working directory, as file dicts (with 'executable'),
        read through a container of `profile_name` that is never started."""
        with self.create(profile_name, "true", workdir=workdir) as sandbox:
            files = self.backend.read_files(sandbox.container)
        return [file.model_dump() for file in files]

    def destroy(self, sandbox: Sandbox) -> None:
        """Kill and remove the sandbox container."""
        self.backend.destroy(sandbox.container)

    def run(
        self,
        profile_name: str,
        command: str | None = None,
        files: Iterable[Mapping[str, Any]] | None = None,
        stdin: bytes | str | None = None,
        limits: Mapping[str, Any] | None = None,
        workdir: WorkingDirectory | None = None,
    ) -> dict[str, Any]:
        """Create, start and destroy one sandbox; return its result dict."""
        data = parse_stdin(stdin)
        self._check_size([], data)  # before any container exists
        with self.create(profile_name, command, files, limits, workdir) as sandbox:
            return self.start(sandbox, data)

    def open_workdir(self, node: str | None = None, disk: int | None = None) -> WorkingDirectory:
        """Create a working-directory volume that expires after settings.workdir_ttl.

        It is a disk of `disk` megabytes (None: the default `disk` limit), checked
        against the ceilings like a run's limits.
        """
        size = self.limits(None if disk is None else {"disk": disk}).disk
        expires = int(time.time() + self.settings.workdir_ttl)
        labels = owner_labels(KIND_WORKDIR, **{WORKDIR_EXPIRES: str(expires)})
        return WorkingDirectory(self.backend.create_volume(labels, size), node)

    def close_workdir(self, workdir: WorkingDirectory) -> None:
        """Remove a working-directory volume; gone already is fine."""
        self.backend.remove_volume(workdir.volume)

    @contextmanager
    def working_directory(self, disk: int | None = None) -> Iterator[WorkingDirectory]:
        """A volume for runs to share, of `disk` megabytes; removed on exit, even when
        the block raises."""
        workdir = self.open_workdir(disk=disk)
        try:
            yield workdir
        finally:
            self.close_workdir(workdir)
