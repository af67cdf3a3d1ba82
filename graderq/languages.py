"""The language catalogue: how to compile and run one source file in each language.

configs/languages.toml has a [languages.ID] table per language: the profiles, the
source file's name and the compile and run commands, so that a teacher names a
language and writes no command line. configs/samples/ID.toml holds its sample
programs (hello world, A+B, and failures) for `graderq doctor --languages` and the
tests. Pure data: importable by a producer without Docker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from graderq.config_files import read_tables, read_toml
from graderq.errors import LanguageError
from graderq.settings import DEFAULT_LANGUAGES_FILE

SAMPLES = "samples"
"""The folder beside the catalogue that holds ID.toml of sample programs."""


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Language:
    """One language of the catalogue."""

    id: str
    name: str
    source: str
    """The file name the submission is saved as, in /sandbox."""
    profile: str
    """The profile each test runs in."""
    run: str
    version: str
    """A command whose output's first line names the toolchain and its version."""
    compile: str | None = None
    """None: an interpreted language, nothing to compile."""
    compile_profile: str | None = None
    """The compile step's profile; None: `profile`."""

    @field_validator("id", "name", "profile", "run", "version")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("source")
    @classmethod
    def _file_name(cls, value: str) -> str:
        if not value or "/" in value or value in (".", ".."):
            raise ValueError(f"must be a plain file name, not {value!r}")
        return value

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    @property
    def profiles(self) -> tuple[str, ...]:
        """The profiles it uses: the compile step's (if another) and the run's."""
        compile_profile = self.compile_profile or self.profile
        if self.compiled and compile_profile != self.profile:
            return compile_profile, self.profile
        return (self.profile,)

    def compile_step(self, limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """client.grade's `compile` step: the compile command, or `true` in the run
        profile (which only puts the files in place); `limits` over the profile's."""
        return {
            "profile_name": self.compile_profile or self.profile,
            "command": self.compile if self.compile is not None else "true",
            "limits": None if limits is None else dict(limits),
        }

    def run_step(self, limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """client.grade's `run` step; `limits` over the profile's."""
        return {
            "profile_name": self.profile,
            "command": self.run,
            "limits": None if limits is None else dict(limits),
        }

    def files(
        self, source: str | bytes, files: Sequence[Mapping[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The submission's files: `source` as the language's source file, then `files`."""
        if not isinstance(source, str | bytes):
            raise LanguageError(
                f"source must be the program's text (str or bytes), not {type(source).__name__}"
            )
        return [{"name": self.source, "content": source}, *(dict(f) for f in files or ())]


def load_languages(path: str | Path = DEFAULT_LANGUAGES_FILE) -> dict[str, Language]:
    """Read the [languages.ID] tables of a TOML file, in the file's order."""
    tables = read_tables(path, "languages", LanguageError)
    return {key: _make(key, options) for key, options in tables.items()}


def _make(key: str, options: Any) -> Language:
    if not isinstance(options, Mapping):
        raise LanguageError(f"language {key!r} must be a table of options")
    try:
        return Language(id=key, **{k: v for k, v in options.items() if k != "id"})
    except (TypeError, ValidationError) as exc:
        raise LanguageError(f"language {key!r} is invalid: {exc}") from None


def get_language(language_id: Any, catalogue: Mapping[str, Language] | None = None) -> Language:
    """The catalogue's language of that id (default: the settings' languages file)."""
    if catalogue is None:
        from graderq.settings import get_settings

        catalogue = load_languages(get_settings().languages_file)
    if isinstance(language_id, str) and language_id in catalogue:
        return catalogue[language_id]
    raise LanguageError(
        f"unknown language {language_id!r}; known languages: {', '.join(catalogue)}"
    )


def load_samples(
    language_id: str, languages_file: str | Path = DEFAULT_LANGUAGES_FILE
) -> dict[str, str]:
    """The sample programs of a language: name -> source (hello, aplusb, wrong, ...)."""
    path = Path(languages_file).parent / SAMPLES / f"{language_id}.toml"
    data = read_toml(path, f"language {language_id!r}: samples", LanguageError)
    return {name: text.lstrip("\n") for name, text in data.items() if isinstance(text, str)}
