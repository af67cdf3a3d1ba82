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


def test_profile_limits_and_ceilings_are_keywords_after_epicboxs_arguments() -> None:
    profile = Profile("java_run", "java:17", None, "sandbox", True, True, limits={"memory": 512})
    assert profile.limits == {"memory": 512} and profile.ceilings is None
    assert profile.read_only and profile.user == "sandbox"


def test_bad_profile_limits_are_refused_naming_the_profile() -> None:
    with pytest.raises(ProfileError, match=r"(?s)'java'.*unknown limit 'colour'"):
        build_profiles({"java": {"docker_image": "j", "limits": {"colour": 1}}})
    with pytest.raises(ProfileError, match=r"(?s)'java'.*'memory' must be positive"):
        build_profiles({"java": {"docker_image": "j", "limits": {"memory": -1}}})
    with pytest.raises(ProfileError, match=r"(?s)'java'.*unknown limit 'colour'"):
        build_profiles({"java": {"docker_image": "j", "ceilings": {"colour": 1}}})


def test_shipped_profiles_give_compile_profiles_more_and_runs_are_read_only() -> None:
    profiles = load_profiles(DEFAULT_PROFILES_FILE)
    assert profiles["java_run"].limits == {"cputime": 2, "memory": 512, "processes": 256}
    for name, profile in profiles.items():
        if name.endswith("_compile"):
            assert profile.limits["cputime"] >= 10 and profile.limits["memory"] >= 512, name
        else:
            assert profile.read_only and profile.user == "sandbox", name
