"""`graderq images build` and `graderq janitor`: keep a Docker host ready and tidy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

import graderq
from graderq.cli.exits import EPILOG, ExitCode
from graderq.cli.output import print_json, stdout_console
from graderq.errors import MissingTool, ProfileError


def build_script() -> Path:
    """workers/images/build.sh of the checkout this graderq package is installed from."""
    script = Path(graderq.__file__).resolve().parent.parent / "workers" / "images" / "build.sh"
    if not script.is_file():
        raise MissingTool(
            f"the image builder {script} is missing: it ships with graderq's source "
            "checkout; install graderq from a clone (pip install -e .) to build images"
        )
    return script


@click.group()
def images() -> None:
    """The sandbox images that configs/profiles.toml names."""


def language_images(language_ids: tuple[str, ...]) -> list[str]:
    """The images the named languages' profiles run on, in order, each once."""
    from graderq.languages import get_language, load_languages
    from graderq.profiles import load_profiles
    from graderq.settings import get_settings

    settings = get_settings()
    catalogue = load_languages(settings.languages_file)
    profiles = load_profiles(settings.profiles_file)
    tags: list[str] = []
    for language_id in language_ids:
        for name in get_language(language_id, catalogue).profiles:
            if name not in profiles:
                raise ProfileError(f"language {language_id!r} names an unknown profile {name!r}")
            if profiles[name].docker_image not in tags:
                tags.append(profiles[name].docker_image)
    return tags


@images.command(epilog=EPILOG)
@click.option(
    "--offline/--registry",
    default=True,
    help="Build from the machine's Debian mirror (debootstrap + docker import), or with "
    "docker build and the Dockerfiles (needs a registry).  [default: offline]",
)
@click.option("--force", is_flag=True, help="Rebuild images that exist already.")
@click.argument("languages", nargs=-1, metavar="[LANG]...")
def build(offline: bool, force: bool, languages: tuple[str, ...]) -> None:
    """Build the missing sandbox images (runs workers/images/build.sh): those of the
    languages named (graderq languages lists them), else every image."""
    command = ["bash", str(build_script()), "--offline" if offline else "--registry"]
    if force:
        command.append("--force")
    command += language_images(languages)
    returncode = subprocess.run(command, check=False).returncode
    if returncode != 0:
        click.echo(f"Error: {' '.join(command)} failed with exit code {returncode}", err=True)
        raise click.exceptions.Exit(ExitCode.INFRASTRUCTURE)
    click.echo("images ready")


@click.command(epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def janitor(as_json: bool) -> None:
    """Remove what dead workers left on this Docker engine, once.

    Sandbox containers whose owner process is gone or that are older than any task
    may run (GRADERQ_TASK_TIME_LIMIT + GRADERQ_TASK_TIME_MARGIN), expired working
    directories, and the networks of sandboxes that are gone. Workers do this on their
    own every GRADERQ_JANITOR_INTERVAL seconds.
    """
    from graderq.sandbox import DockerBackend
    from graderq.sandbox.janitor import abandoned_after, sweep
    from graderq.settings import get_settings

    settings = get_settings()
    max_age = abandoned_after(settings)
    backend = DockerBackend.from_settings(settings)
    done = sweep(backend, max_age)
    if as_json:
        print_json(
            {
                "containers": done.containers,
                "volumes": done.volumes,
                "disks": done.disks,
                "networks": done.networks,
                "max_age": max_age,
            }
        )
    else:
        stdout_console().print(
            f"janitor removed {done.containers} containers, {done.volumes} volumes, "
            f"{done.disks} disks and {done.networks} networks "
            f"(sandboxes older than {max_age:g} s count as abandoned)"
        )
