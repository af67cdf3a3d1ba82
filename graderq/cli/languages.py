"""`graderq languages`: the language catalogue, each language's version and image."""

from __future__ import annotations

import click
import docker.errors
from rich.table import Table

from graderq.cli.exits import EPILOG
from graderq.cli.output import print_json, stdout_console
from graderq.sandbox import DockerBackend


@click.command(epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def languages(as_json: bool) -> None:
    """List the language ids of the catalogue (GRADERQ_LANGUAGES_FILE), each with the
    version its image reports and whether its images are on this Docker engine."""
    from graderq.cli.selftest import version
    from graderq.engine import Engine
    from graderq.languages import load_languages
    from graderq.settings import get_settings

    settings = get_settings()
    backend = DockerBackend.from_settings(settings)
    engine = Engine(settings=settings, backend=backend)
    rows = []
    for language in load_languages(settings.languages_file).values():
        images = sorted({engine.profile(name).docker_image for name in language.profiles})
        present = all(image_present(backend, image) for image in images)
        rows.append(
            {
                "id": language.id,
                "name": language.name,
                "version": version(engine, language) if present else None,
                "images": images,
                "present": present,
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table("id", "language", "version", "image", "present", box=None)
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["version"] or "",
            ", ".join(row["images"]),
            "yes" if row["present"] else "[bold red]no[/] (graderq images build " + row["id"] + ")",
        )
    stdout_console().print(table)


def image_present(backend: DockerBackend, image: str) -> bool:
    """Whether the Docker engine has the image."""
    try:
        backend.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return False
    return True
