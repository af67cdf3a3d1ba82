"""Images built like stock images (python:3.12-slim, gcc:13, epicbox's README's alpine):
their /sandbox is missing, or root's with mode 0755, and they run as root from `/`.

Built offline from graderq's own images (a `docker build` whose base is local), once
per engine: the layer cache makes a rebuild free. Users bring such images; graderq's own
have a world-writable /sandbox, which hid that a sandbox could not write there.
"""

from __future__ import annotations

import io

import docker

from tests.integration.support import OWN_IMAGES, stock_image

KINDS = {
    "no-sandbox": "RUN rmdir /sandbox",
    "root-sandbox": "RUN chown 0:0 /sandbox && chmod 0755 /sandbox",
}
"""What each kind of stock-like image does to the /sandbox of graderq's image."""
USERS = {"root": {"user": "root"}, "named": {"user": "nobody"}, "none": {}}
"""A profile's user: root, a user the image names, or none given (epicbox's default)."""


def build_stock_images(client: docker.DockerClient) -> None:
    """Every stock-like image, from the local graderq images (no registry)."""
    for language, base in OWN_IMAGES.items():
        for kind, step in KINDS.items():
            dockerfile = f"FROM {base}\nUSER root\n{step}\nWORKDIR /\n"
            client.images.build(
                fileobj=io.BytesIO(dockerfile.encode()),
                tag=stock_image(language, kind),
                rm=True,
                forcerm=True,
            )


def stock_profiles() -> dict[str, dict[str, object]]:
    """`<language>-<kind>-<user>` for every language, kind of image and user; a compile
    profile of gcc is not read-only, as the shipped gcc_compile."""
    return {
        f"{language}-{kind}-{user}": {"docker_image": stock_image(language, kind), **options}
        for language in OWN_IMAGES
        for kind in KINDS
        for user, options in USERS.items()
    }
