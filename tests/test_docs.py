"""The docs hold together: the settings reference in docs/operators.md is the Settings
model's."""

from __future__ import annotations

from pathlib import Path

from graderq.settings import Settings, reference_table

REPO = Path(__file__).resolve().parents[1]
SETTINGS_PAGE = REPO / "docs" / "operators.md"


def test_the_configuration_reference_matches_the_settings_model() -> None:
    assert reference_table() in SETTINGS_PAGE.read_text()


def test_every_setting_is_in_the_reference() -> None:
    table = reference_table()
    for name in Settings.model_fields:
        assert f"GRADERQ_{name.upper()}" in table
