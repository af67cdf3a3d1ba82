"""The docs hold together: every relative link and #anchor of README.md and docs/*.md
resolves, and the settings reference in docs/operators.md is the Settings model's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graderq.settings import Settings, reference_table

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SETTINGS_PAGE = REPO / "docs" / "operators.md"
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks, inline code removed."""
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def slug(heading: str) -> str:
    """The anchor a code host gives a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor, the second of a name with -1, as code hosts number them."""
    found: set[str] = set()
    fenced = False
    for line in page.read_text().splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            name = base = slug(match.group(2))
            count = 0
            while name in found:
                count += 1
                name = f"{base}-{count}"
            found.add(name)
    return found


def links(page: Path) -> list[str]:
    """The targets of the page's links (a link's text may span lines)."""
    return LINK.findall("\n".join(prose(page)))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no {linked.relative_to(REPO)}")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, "\n".join(broken)


def test_the_checks_see_what_a_code_host_does() -> None:
    assert slug("The `graderq` command") == "the-graderq-command"
    assert slug("Exam day: how nothing is lost and nobody waits") == (
        "exam-day-how-nothing-is-lost-and-nobody-waits"
    )
    assert slug("graderq in an LMS's process") == "graderq-in-an-lmss-process"
    assert slug("Distributed grading (Celery)") == "distributed-grading-celery"


def test_the_docs_link_every_page() -> None:
    index = {target.partition("#")[0] for target in links(REPO / "docs" / "README.md")}
    pages = {page.name for page in PAGES if page.parent.name == "docs" and page.stem != "README"}
    assert pages <= index
    readme = {target.partition("#")[0] for target in links(REPO / "README.md")}
    assert {f"docs/{name}" for name in pages} <= readme


def test_the_configuration_reference_matches_the_settings_model() -> None:
    assert reference_table() in SETTINGS_PAGE.read_text()


def test_every_setting_is_in_the_reference() -> None:
    table = reference_table()
    for name in Settings.model_fields:
        assert f"GRADERQ_{name.upper()}" in table
