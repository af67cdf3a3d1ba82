"""`graderq doctor`: is this machine set up to run and grade? Each check says how to fix it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import click
import docker.errors
import redis
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from graderq.cli.exits import EPILOG, ExitCode
from graderq.cli.output import stdout_console
from graderq.errors import DockerError, ProfileError
from graderq.profiles import Profile, load_profiles
from graderq.queue import records
from graderq.sandbox import DockerBackend, disks
from graderq.sandbox.accounting import DRIVERS, Accounting
from graderq.sandbox.spec import KIND_SANDBOX, owner_labels
from graderq.settings import Settings, get_settings

DEFAULT_TIMEOUT = 3.0
PROVISION = "bash workers/provision.sh"


class Status(StrEnum):
    OK = "OK"
    FAIL = "FAIL"
    WARN = "WARN"
    """Worth knowing, not a failure (e.g. no worker runs yet)."""


@dataclass(frozen=True)
class Check:
    """One check's outcome; `fix` says in plain words what to do about a failure."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def check_settings() -> tuple[Check, Settings | None]:
    try:
        settings = get_settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"{part}: " for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        fix = "correct the GRADERQ_* environment variables (or .env)"
        return Check("settings", Status.FAIL, f"{where}{message}", fix), None
    return Check("settings", Status.OK, "GRADERQ_* settings are valid"), settings


def check_profiles(settings: Settings) -> tuple[Check, dict[str, Profile]]:
    path = settings.profiles_file
    try:
        profiles = load_profiles(path)
    except ProfileError as exc:
        fix = f"correct {path}, or set GRADERQ_PROFILES_FILE to a file of [profiles.NAME] tables"
        return Check("profiles", Status.FAIL, str(exc), fix), {}
    names = ", ".join(profiles)
    return Check("profiles", Status.OK, f"{len(profiles)} in {path}: {names}"), profiles


def docker_location(settings: Settings) -> str:
    return settings.docker_url or os.environ.get("DOCKER_HOST") or "the local socket"


def check_docker(settings: Settings, timeout: float) -> tuple[Check, DockerBackend | None]:
    backend = DockerBackend.from_settings(settings.model_copy(update={"docker_timeout": timeout}))
    where = docker_location(settings)
    try:
        version = backend.api.version()
    except (DockerError, docker.errors.DockerException, OSError) as exc:
        fix = (
            f"start the Docker engine ({PROVISION} installs and starts it), or point "
            "GRADERQ_DOCKER_URL / DOCKER_HOST at a running one"
        )
        return Check("docker", Status.FAIL, f"unreachable at {where}: {exc}", fix), None
    detail = f"Docker {version.get('Version')} (API {version.get('ApiVersion')}) at {where}"
    return Check("docker", Status.OK, detail), backend


def check_images(backend: DockerBackend, profiles: Mapping[str, Profile]) -> Iterator[Check]:
    """One check per image the profiles name."""
    users: dict[str, list[str]] = {}
    for profile in profiles.values():
        users.setdefault(profile.docker_image, []).append(profile.name)
    for image, names in users.items():
        label = f"{image} ({', '.join(names)})"
        try:
            backend.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            fix = (
                "build images: graderq images build --offline (or --registry where a "
                f"registry is reachable); an image of your own: docker pull {image}"
            )
            yield Check("image", Status.FAIL, f"{label} is not on the Docker engine", fix)
        except (docker.errors.DockerException, OSError) as exc:
            yield Check("image", Status.FAIL, f"{label}: {exc}", "see the docker check")
        else:
            yield Check("image", Status.OK, f"{label} is present")


def check_host(backend: DockerBackend, profiles: Mapping[str, Profile]) -> list[Check]:
    """The Docker host's cgroups, driver and runtimes; whether accounting and the kill on
    a sandbox's total CPU are active; whether each profile's runtime is known."""
    try:
        info = backend.api.info()
        accounting = backend.accounting
    except (DockerError, docker.errors.DockerException, OSError) as exc:
        return [
            Check("host", Status.FAIL, f"cannot read docker info: {exc}", "see the docker check")
        ]
    version, driver = info.get("CgroupVersion") or "?", info.get("CgroupDriver") or "?"
    runtimes = sorted(info.get("Runtimes") or {})
    default = info.get("DefaultRuntime") or "?"
    detail = (
        f"cgroup v{version}, Docker's cgroup driver {driver}, runtimes "
        f"{', '.join(runtimes)} (default {default})"
    )
    checks = [Check("host", Status.OK, detail), accounting_check(backend, accounting, driver)]
    for profile in profiles.values():
        runtime = profile.runtime or backend.default_runtime
        if runtime is not None and runtime not in runtimes:
            fix = (
                "register it with dockerd (--add-runtime, or 'runtimes' in daemon.json), or "
                "correct the profile's runtime / GRADERQ_DEFAULT_RUNTIME"
            )
            checks.append(
                Check(
                    "runtime",
                    Status.FAIL,
                    f"profile {profile.name!r} runs on {runtime!r}, which Docker does not know",
                    fix,
                )
            )
    return checks


def accounting_check(backend: DockerBackend, accounting: Accounting | None, driver: str) -> Check:
    """Whether cpu_time, memory_peak and the total-CPU kill are active; if not, why."""
    if accounting is not None:
        where = "slices graderq-<id>.slice" if driver == "systemd" else "cgroups /graderq/<id>"
        return Check(
            "accounting",
            Status.OK,
            f"cpu_time, memory_peak and the kill on a sandbox's total CPU are active "
            f"(cgroup v{accounting.version}, {where})",
        )
    if not backend.local:
        why = "the Docker daemon is remote: its cgroups are not visible here"
        fix = "run the worker (and graderq doctor) on the Docker host itself"
    elif driver not in DRIVERS:
        why = f"Docker's cgroup driver {driver!r} is neither cgroupfs nor systemd"
        fix = 'set "exec-opts": ["native.cgroupdriver=systemd"] in /etc/docker/daemon.json'
    else:
        why = "this process does not see the host's cgroup tree at /sys/fs/cgroup"
        fix = "run the worker on the host, or with the host's /sys/fs/cgroup mounted"
    return Check(
        "accounting",
        Status.WARN,
        f"off: cpu_time and memory_peak are None and the kill on a sandbox's total "
        f"CPU is off ({why})",
        fix,
    )


def check_disks(backend: DockerBackend, settings: Settings) -> Check:
    """Make and remove a small bounded disk, as a sandbox with files gets one."""
    if settings.default_limits.disk is None:
        fix = "set GRADERQ_DEFAULT_LIMITS__DISK (megabytes) to bound what sandboxes write"
        return Check("disks", Status.WARN, "the default 'disk' limit is None: unbounded", fix)
    try:
        volume = backend.create_volume(owner_labels(KIND_SANDBOX), 4)
        backend.remove_volume(volume)
    except DockerError as exc:
        fix = f"run the worker as root on the Docker host ({PROVISION} installs the tools)"
        return Check("disks", Status.FAIL, str(exc), fix)
    detail = f"bounded disks work: ext4 images on loop devices in {settings.disk_dir}"
    return Check("disks", Status.OK, detail)


def check_disk_room(backend: DockerBackend, settings: Settings, megabytes: int) -> Check:
    """Whether the disk dir has room for GRADERQ_MAX_DISKS disks of `megabytes`, the
    default size (each is allocated in full when it is made)."""
    room = disks.room(backend.disk_dir, backend.node_id(), settings.max_disks, megabytes)
    warning = disks.room_warning(room, backend.disk_dir, settings.max_disks, megabytes)
    if warning is not None:
        fits = room.held + room.free // (megabytes * disks.MIB)
        lower = f", or lower GRADERQ_MAX_DISKS to {fits}" if fits else ""
        fix = f"free space in {backend.disk_dir}, or give it a larger file system{lower}"
        return Check("disk room", Status.WARN, warning, fix)
    detail = (
        f"{room.free // disks.MIB} MB free in {backend.disk_dir}: room for "
        f"GRADERQ_MAX_DISKS={settings.max_disks} disks of {megabytes} MB ({room.held} held)"
    )
    return Check("disk room", Status.OK, detail)


def check_broker(url: str, timeout: float) -> Check:
    from kombu import Connection
    from kombu.utils.url import maybe_sanitize_url

    shown = maybe_sanitize_url(url)
    fix = (
        f"start it: {PROVISION} (RabbitMQ: GRADERQ_WITH_RABBITMQ=1 {PROVISION}), "
        "or set GRADERQ_BROKER_URL"
    )
    connection = Connection(url, connect_timeout=timeout)
    try:
        connection.ensure_connection(max_retries=0, timeout=timeout)
        server = getattr(connection.connection, "server_properties", None) or {}
    except Exception as exc:  # any transport's failure to connect is this check's answer
        return Check("broker", Status.FAIL, f"{shown} unreachable: {exc}", fix)
    finally:
        connection.release()
    product = f" ({server.get('product')} {server.get('version')})" if server else ""
    return Check("broker", Status.OK, f"{shown} reachable{product}")


def check_result_backend(url: str, timeout: float) -> list[Check]:
    """The Redis result backend, and whether any worker beats there (a warning if none)."""
    from kombu.utils.url import maybe_sanitize_url

    shown = maybe_sanitize_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as exc:
        fix = "set GRADERQ_RESULT_BACKEND to a redis:// URL"
        return [Check("result backend", Status.FAIL, f"{shown}: {exc}", fix)]
    try:
        version = client.info("server").get("redis_version")
        nodes = records.live_nodes(client)
    except redis.RedisError as exc:
        fix = f"start Redis: {PROVISION}, or set GRADERQ_RESULT_BACKEND"
        return [Check("result backend", Status.FAIL, f"{shown} unreachable: {exc}", fix)]
    finally:
        client.close()
    checks = [Check("result backend", Status.OK, f"{shown}: Redis {version}")]
    if nodes:
        hosts = ", ".join(nodes)
        checks.append(Check("workers", Status.OK, f"live on {len(nodes)} Docker hosts: {hosts}"))
    else:
        fix = "to grade through the queue, start one on each Docker host: celery -A graderq worker"
        checks.append(Check("workers", Status.WARN, "no live worker", fix))
    return checks


def run_checks(timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Every check, in order; those that need a failed one's result are left out."""
    settings_check, settings = check_settings()
    if settings is None:
        return [settings_check]
    profiles_check, profiles = check_profiles(settings)
    docker_check, backend = check_docker(settings, timeout)
    checks = [settings_check, profiles_check, docker_check]
    if backend is not None:
        checks += check_images(backend, profiles)
        checks += check_host(backend, profiles)
        checks.append(check_disks(backend, settings))
        megabytes = settings.default_limits.disk
        if checks[-1].status is Status.OK and megabytes is not None:
            checks.append(check_disk_room(backend, settings, megabytes))
    checks.append(check_broker(settings.broker_url, timeout))
    checks += check_result_backend(settings.result_backend, timeout)
    return checks


def language_checks() -> list[Check]:
    """The self-test of each language whose images are present (graderq.cli.selftest), on
    this machine's engine; a language without its images is a warning."""
    from graderq.cli.languages import image_present
    from graderq.cli.selftest import check_language
    from graderq.engine import Engine
    from graderq.languages import load_languages, load_samples

    settings = get_settings()
    backend = DockerBackend.from_settings(settings)
    engine = Engine(settings=settings, backend=backend)
    checks = []
    for language in load_languages(settings.languages_file).values():
        name = f"language {language.id}"
        images = {engine.profile(profile).docker_image for profile in language.profiles}
        missing = sorted(image for image in images if not image_present(backend, image))
        if missing:
            fix = f"graderq images build {language.id}"
            checks.append(Check(name, Status.WARN, f"{', '.join(missing)} not present", fix))
            continue
        found = check_language(engine, language, load_samples(language.id, settings.languages_file))
        figures = (
            f"{found.version}; compile {_seconds(found.compile_time)}, "
            f"run {_seconds(found.run_time)} (cpu {_seconds(found.cpu_time)}), "
            f"peak {_megabytes(found.memory_peak)}"
        )
        if found.passed:
            checks.append(Check(name, Status.OK, figures))
        else:
            detail = f"{figures}; " + "; ".join(found.problems)
            fix = "see the language's entry in configs/languages.toml and its image"
            checks.append(Check(name, Status.FAIL, detail, fix))
    return checks


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _megabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MB"


STYLES = {Status.OK: "green", Status.FAIL: "bold red", Status.WARN: "yellow"}


@click.command(epilog=EPILOG)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds each service may take to answer.",
)
@click.option(
    "--languages",
    "with_languages",
    is_flag=True,
    help="Also compile and run a hello world and an A+B program in every language "
    "whose image is present, and show their figures.",
)
def doctor(timeout: float, with_languages: bool) -> None:
    """Check the Docker engine, the sandbox images, the host's cgroups, driver and runtimes
    (accounting, the kill on total CPU), bounded disks, the profiles file, the broker and
    the result backend. Exits 0 if every check passes, else 1."""
    checks = run_checks(timeout)
    if with_languages:
        checks += language_checks()
    table = Table.grid(padding=(0, 2))
    for check in checks:
        table.add_row(Text(check.status, STYLES[check.status]), check.name, Text(check.detail))
        if check.fix and check.status is not Status.OK:
            table.add_row("", "", Text(f"fix: {check.fix}"))
    failed = [check for check in checks if check.status is Status.FAIL]
    console = stdout_console()
    console.print(table)
    if failed:
        console.print(f"{len(failed)} of {len(checks)} checks failed")
    else:
        console.print(f"all {len(checks)} checks passed")
    raise click.exceptions.Exit(ExitCode.FAILED if failed else ExitCode.OK)
