"""Grading in every language of the catalogue, through the queue with a real worker.

Per language: a correct A+B is accepted, a wrong one is a wrong answer, an endless loop
a time limit, touching 1 GB a memory limit and, where there is a compiler, a syntax
error a compile error. One grading per case, submitted together; the samples are
configs/samples/ID.toml.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from graderq import client
from graderq.languages import load_languages, load_samples
from graderq.settings import DEFAULT_LANGUAGES_FILE

from .conftest import Worker

CATALOGUE = load_languages(DEFAULT_LANGUAGES_FILE)
A_PLUS_B = [
    {"stdin": "2 3\n", "expected": "5\n", "name": "small"},
    {"stdin": "1000000000 2000000000\n", "expected": "3000000000\n", "name": "64-bit"},
]
EXPECTED = {
    "aplusb": "accepted",
    "wrong": "wrong answer",
    "loop": "time limit",
    "memory": "memory limit",
    "syntax_error": "compile error",
}

pytestmark = pytest.mark.timeout(300)


LONG_TASKS = {"GRADERQ_TASK_TIME_LIMIT": "120", "GRADERQ_VISIBILITY_TIMEOUT": "150"}
"""Compile profiles' realtime (5 x 10 s of CPU, 60 s for kotlinc) is above the 20 s
task limit of the other tests' workers."""


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("languages", concurrency=2, **LONG_TASKS)


@pytest.mark.parametrize("language", list(CATALOGUE))
def test_every_verdict_in_every_language(worker: Worker, language: str) -> None:
    samples = load_samples(language)
    cases = [case for case in EXPECTED if case in samples]
    handles = {
        case: client.grade(
            language=language,
            source=samples[case],
            tests=A_PLUS_B if case == "aplusb" else A_PLUS_B[:1],
        )
        for case in cases
    }
    reports = {case: handle.get(timeout=240) for case, handle in handles.items()}
    verdicts = {case: report["verdict"] for case, report in reports.items()}
    assert verdicts == {case: EXPECTED[case] for case in cases}, {
        case: (report["compile"]["stderr"][:300], [t["stderr"][:300] for t in report["tests"]])
        for case, report in reports.items()
        if report["verdict"] != EXPECTED[case]
    }
    accepted = reports["aplusb"]
    assert accepted["passed"] == accepted["total"] == 2
    assert all(test["cpu_time"] > 0 for test in accepted["tests"]), accepted
    if CATALOGUE[language].compiled:
        assert reports["syntax_error"]["tests"] == []  # nothing ran after the compile error


@pytest.mark.parametrize("language", ["java", "go"])
def test_a_runtimes_threads_count_against_the_cpu_budget(worker: Worker, language: str) -> None:
    """Four threads burning CPU for ever: killed once all of them together used the
    profile's cputime (2 s for Java, 1 s for Go), and cpu_time says so."""
    samples = load_samples(language)
    report = client.grade(language=language, source=samples["threads"], tests=A_PLUS_B[:1]).get(
        timeout=120
    )
    (test,) = report["tests"]
    budget = 2 if language == "java" else 1
    assert test["verdict"] == "time limit", report
    assert budget * 0.8 <= test["cpu_time"] <= budget + 1.5, test
    assert test["duration"] < budget * 2.5, test  # the sum, not each thread's own budget


def test_a_jvms_own_cpu_time_is_counted(worker: Worker) -> None:
    samples = load_samples("java")
    report = client.grade(
        language="java",
        source=samples["hello"],
        tests=[{"stdin": "", "expected": "Hello, world!\n"}],
    ).get(timeout=120)
    assert report["verdict"] == "accepted", report
    assert report["tests"][0]["cpu_time"] > 0.02, report
