from pathlib import Path

import pytest

from graderq.errors import ProfileError
from graderq.profiles import Profile, build_profiles, load_profiles
from graderq.settings import DEFAULT_PROFILES_FILE


def test_profile_keeps_epicbox_positional_signature() -> None:
    profile = Profile("python", "python:3.11")
    assert (profile.command, profile.user, profile.read_only, profile.network_disabled) == (
        None,
        "root",
        False,
        True,
    )


def test_profiles_from_list_or_dict() -> None:
    table = build_profiles({"gcc": {"docker_image": "gcc:12", "user": "sandbox"}})
    assert table["gcc"] == Profile("gcc", "gcc:12", user="sandbox")
    assert build_profiles([Profile("a", "img")])["a"].docker_image == "img"


def test_bad_profile_options_are_named() -> None:
    with pytest.raises(ProfileError, match="'gcc'"):
        build_profiles({"gcc": {"docker_image": "gcc:12", "colour": "red"}})
    with pytest.raises(ProfileError, match="'x'"):
        build_profiles({"x": {}})


def test_shipped_profiles_file() -> None:
    profiles = load_profiles(DEFAULT_PROFILES_FILE)
    assert {"python", "gcc_compile", "gcc_run"} <= set(profiles)
    assert profiles["gcc_run"].read_only and profiles["gcc_run"].user == "sandbox"


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles.a\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profiles(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("x = 1\n")
    with pytest.raises(ProfileError, match=r"no \[profiles.NAME\]"):
        load_profiles(empty)
