"""The language catalogue: configs/languages.toml, its samples, and bad input refused."""

from pathlib import Path

import pytest

from graderq.errors import LanguageError, RequestError
from graderq.languages import get_language, load_languages, load_samples
from graderq.profiles import load_profiles
from graderq.settings import DEFAULT_LANGUAGES_FILE, DEFAULT_PROFILES_FILE

JOBE_IDS = {"c", "cpp", "python3", "java", "nodejs", "php", "pascal"}
REQUIRED = JOBE_IDS | {"go", "rust", "csharp", "kotlin", "ruby", "haskell", "bash"}


def test_the_shipped_catalogue_has_the_fourteen_on_known_profiles() -> None:
    catalogue = load_languages(DEFAULT_LANGUAGES_FILE)
    profiles = load_profiles(DEFAULT_PROFILES_FILE)
    assert set(catalogue) >= REQUIRED
    for language in catalogue.values():
        for name in language.profiles:
            assert name in profiles, (language.id, name)
        assert profiles[language.profile].read_only, language.id


def test_every_language_has_its_samples() -> None:
    for language in load_languages(DEFAULT_LANGUAGES_FILE).values():
        samples = load_samples(language.id)
        assert {"hello", "aplusb", "wrong", "loop", "memory"} <= set(samples), language.id
        assert ("syntax_error" in samples) == language.compiled, language.id


def test_java_as_the_issue_says() -> None:
    java = get_language("java", load_languages(DEFAULT_LANGUAGES_FILE))
    assert java.source == "Main.java"
    assert java.compile_step() == {
        "profile_name": "java_compile",
        "command": "javac -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -d . Main.java",
        "limits": None,
    }
    assert java.run_step({"memory": 600})["limits"] == {"memory": 600}
    assert java.run_step()["profile_name"] == "java_run"
    assert java.files("class Main {}", [{"name": "data.txt", "content": "x"}]) == [
        {"name": "Main.java", "content": "class Main {}"},
        {"name": "data.txt", "content": "x"},
    ]


def test_an_interpreted_language_only_puts_its_files_in_place() -> None:
    python = get_language("python3", load_languages(DEFAULT_LANGUAGES_FILE))
    assert python.compile_step() == {"profile_name": "python", "command": "true", "limits": None}
    assert python.profiles == ("python",)


def test_unknown_language_and_bad_source_are_request_errors() -> None:
    catalogue = load_languages(DEFAULT_LANGUAGES_FILE)
    with pytest.raises(LanguageError, match="unknown language 'cobol'; known languages: "):
        get_language("cobol", catalogue)
    with pytest.raises(RequestError, match="source must be the program's text"):
        catalogue["c"].files(42)  # type: ignore[arg-type]


def test_a_malformed_catalogue_is_named(tmp_path: Path) -> None:
    with pytest.raises(LanguageError, match="does not exist"):
        load_languages(tmp_path / "nope.toml")
    bad = tmp_path / "languages.toml"
    bad.write_text('[languages.x]\nname = "X"\nsource = "a/b"\nprofile = "p"\nrun = "r"\n')
    with pytest.raises(LanguageError, match="'x' is invalid"):
        load_languages(bad)
