"""The graderq command over the fake backend: parsing, output, exit codes, no Docker."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import EagerResult
from click.testing import CliRunner, Result

import graderq
import graderq.engine
import graderq.sandbox
from graderq import client
from graderq.cli import cli, maintenance, running
from graderq.cli.exits import ExitCode, exit_code_for
from graderq.cli.output import seconds, shown_text, size
from graderq.cli.params import load_tests, parse_limit_value, parse_limits, read_sandbox_file
from graderq.engine import WorkingDirectory
from graderq.errors import LanguageError, RequestError, RequestTypeError, WorkdirLost
from graderq.limits import Limits
from graderq.queue import records, tasks, worker
from graderq.queue.app import app
from graderq.sandbox import ContainerSpec, Ending, FakeBackend, Outcome
from graderq.sandbox.fake_backend import FakeContainer
from graderq.settings import get_settings


def outcome(stdout: bytes = b"", exit_code: int | None = 0, **kwargs: Any) -> Outcome:
    values: dict[str, Any] = dict(
        exit_code=exit_code,
        stdout=stdout,
        stderr=b"",
        duration=0.12,
        oom_killed=False,
        ending=Ending.EXITED,
        cpu_time=0.05,
        memory_peak=9_856_614,
    )
    return Outcome(**(values | kwargs))


def script(container: FakeContainer, stdin: bytes | None) -> Outcome:
    """What the fake sandbox does, by command."""
    command = container.spec.command
    files = {file.name: file.content for file in container.files}
    if command.startswith("echo "):
        return outcome(command.removeprefix("echo ").encode() + b"\n")
    if command == "cat":
        return outcome(stdin or b"")
    if command == "ls":
        return outcome(
            b"".join(f"{name}={content!r}\n".encode() for name, content in files.items())
        )
    if command == "double":  # a correct solution of the tests below, but for input 4
        number = int(stdin or b"0")
        return outcome(f"{number * 2 + (number == 4)}\n".encode())
    if command == "cc":
        broken = any(b"syntax error" in content for content in files.values())
        return outcome(exit_code=1, stderr=b"main.c:1: error") if broken else outcome()
    return {
        "fail": outcome(exit_code=3, stderr=b"boom"),
        "spin": outcome(exit_code=None, ending=Ending.REALTIME),
        "oom": outcome(exit_code=137, oom_killed=True),
        "flood": outcome(b"y\n" * 10, exit_code=None, ending=Ending.OUTPUT),
        "clipped": outcome(b"x" * 8, output_truncated=True),  # exited 0, output cut
        "binary": outcome(b"\xff\x00ok"),
        "escape": outcome(b"\x1b[31mred\x07\n"),
        "true": outcome(),
    }[command]


@pytest.fixture
def backend() -> Iterator[FakeBackend]:
    """A fresh default engine on the fake backend; the old default is back afterwards."""
    previous = graderq.engine.set_engine(None)
    fake = FakeBackend(script)
    graderq.configure(
        profiles=[graderq.Profile("py", "img/py"), graderq.Profile("cc", "img/cc")],
        backend=fake,
    )
    yield fake
    graderq.engine.set_engine(previous)


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


# --- input parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("-1", -1), ("0.5", 0.5), ("1e3", 1000.0), ("none", None), ("NULL", None)],
)
def test_limit_values_are_ints_floats_or_none(text: str, value: object) -> None:
    parsed = parse_limit_value(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("text", ["abc", "", "inf", "nan", "1,5", "true"])
def test_limit_values_that_are_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_limit_value(text)


def test_limits_are_checked_by_name_and_given_once() -> None:
    assert parse_limits(["memory=128", "realtime=none"]) == {"memory": 128, "realtime": None}
    with pytest.raises(ValueError, match="'walltime'"):
        parse_limits(["walltime=1"])
    with pytest.raises(ValueError, match="twice"):
        parse_limits(["memory=1", "memory=2"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_limits(["memory"])


def test_run_passes_the_limits_to_the_engine(backend: FakeBackend) -> None:
    result = invoke("run", "py", "true", "--limit", "memory=128", "--limit", "cputime=0.5")
    assert result.exit_code == 0, result.output
    limits = backend.created[0].spec.limits
    assert (limits.memory, limits.cputime, limits.realtime) == (128, 0.5, 2.5)


def test_bad_limits_are_usage_errors(backend: FakeBackend) -> None:
    result = invoke("run", "py", "true", "--limit", "memory=lots")
    assert result.exit_code == ExitCode.USAGE
    assert "'memory': 'lots' is not a number" in result.stderr
    result = invoke("run", "py", "true", "--limit", "memory=-1")  # refused by the engine
    assert result.exit_code == ExitCode.USAGE
    assert "'memory' must be positive" in result.stderr and "Traceback" not in result.stderr
    assert backend.created == []


def test_files_go_under_their_basename_or_the_given_name(
    backend: FakeBackend, tmp_path: Path
) -> None:
    (tmp_path / "main.c").write_bytes(b"int main;")
    (tmp_path / "data.txt").write_bytes(b"\x00\xff")
    result = invoke(
        "run", "py", "ls", "--file", str(tmp_path / "main.c"),
        "--file", f"input/raw.bin={tmp_path / 'data.txt'}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["stdout"].splitlines()
    assert listed == ["main.c=b'int main;'", "input/raw.bin=b'\\x00\\xff'"]


def test_a_file_that_is_missing_or_not_a_file_is_a_usage_error(
    backend: FakeBackend, tmp_path: Path
) -> None:
    result = invoke("run", "py", "ls", "--file", str(tmp_path / "nope.c"))
    assert result.exit_code == ExitCode.USAGE and "nope.c' does not exist" in result.stderr
    result = invoke("run", "py", "ls", "--file", str(tmp_path))
    assert result.exit_code == ExitCode.USAGE and "not a regular file" in result.stderr
    assert backend.created == []


def test_a_bad_file_name_is_the_engines_file_error(backend: FakeBackend, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    assert read_sandbox_file(f"../a={tmp_path / 'a'}")["name"] == "../a"
    result = invoke("run", "py", "ls", "--file", f"../a={tmp_path / 'a'}")
    assert result.exit_code == ExitCode.USAGE
    assert "file '../a'" in result.stderr and "Traceback" not in result.stderr


def test_stdin_from_text_a_file_or_our_own_stdin(backend: FakeBackend, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x01\x02")
    text = invoke("run", "py", "cat", "--stdin", "héllo", "--json")
    assert json.loads(text.stdout)["stdout"] == "héllo"
    from_file = json.loads(invoke("run", "py", "cat", "--stdin-file", str(source), "--json").stdout)
    assert from_file["stdout"] == "\x01\x02"
    piped = invoke("run", "py", "cat", "--stdin-file", "-", "--json", input=b"piped")
    assert json.loads(piped.stdout)["stdout"] == "piped"
    both = invoke("run", "py", "cat", "--stdin", "a", "--stdin-file", str(source))
    assert both.exit_code == ExitCode.USAGE and "not both" in both.stderr


# --- results, output and exit codes --------------------------------------------------


@pytest.mark.parametrize(
    ("command", "code", "status"),
    [
        ("true", ExitCode.OK, "ok"),
        ("fail", ExitCode.FAILED, "failed"),
        ("spin", ExitCode.FAILED, "timeout"),
        ("oom", ExitCode.FAILED, "out of memory"),
        ("flood", ExitCode.FAILED, "truncated"),
        ("clipped", ExitCode.FAILED, "truncated"),
    ],
)
def test_exit_code_says_whether_the_command_succeeded(
    backend: FakeBackend, command: str, code: int, status: str
) -> None:
    result = invoke("run", "py", command)
    assert result.exit_code == code, result.output
    assert f"status       {status}" in result.stdout


def test_readable_result(backend: FakeBackend) -> None:
    result = invoke("run", "py", "fail")
    assert "exit code    3" in result.stdout
    assert "stderr (4 B)" in result.stdout and "boom" in result.stdout
    assert "duration     0.12 s" in result.stdout
    assert "cpu time     50.0 ms" in result.stdout
    assert "memory peak  9.4 MiB" in result.stdout
    killed = invoke("run", "py", "spin")
    assert "exit code    none (killed)" in killed.stdout


def test_terminal_control_characters_are_shown_escaped(backend: FakeBackend) -> None:
    result = invoke("run", "py", "escape")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[31mred\\x07" in result.stdout
    assert shown_text(b"a\tb\n\xffc") == "a\tb\n\ufffdc"


def test_json_result_keeps_bytes_exactly(backend: FakeBackend) -> None:
    result = invoke("run", "py", "binary", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["stdout_encoding"] == "base64"
    assert base64.b64decode(data["stdout"]) == b"\xff\x00ok"
    assert (data["stderr"], data["stderr_encoding"]) == ("", "utf-8")
    assert data["exit_code"] == 0 and data["memory_peak"] == 9_856_614
    assert data["timeout"] is False and data["output_truncated"] is False
    failed = invoke("run", "py", "spin", "--json")
    assert failed.exit_code == ExitCode.FAILED
    assert json.loads(failed.stdout)["exit_code"] is None


def test_unknown_profile_is_a_usage_error_without_traceback(backend: FakeBackend) -> None:
    result = invoke("run", "nope", "true")
    assert result.exit_code == ExitCode.USAGE
    assert "Error: Profile not found: 'nope'" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_engine_failure_is_an_infrastructure_error(backend: FakeBackend) -> None:
    def unreachable(container: FakeContainer, stdin: bytes | None) -> Outcome:
        raise graderq.DockerError("cannot reach the Docker engine: refused")

    backend.script = unreachable
    result = invoke("run", "py", "true")
    assert result.exit_code == ExitCode.INFRASTRUCTURE
    assert "Error: cannot reach the Docker engine: refused" in result.stderr
    assert "graderq doctor" in result.stderr and "Traceback" not in result.stderr


def test_a_bug_shows_its_traceback_and_its_own_exit_code(backend: FakeBackend) -> None:
    result = invoke("run", "py", "no such script entry")
    assert result.exit_code == ExitCode.INTERNAL
    assert "Traceback" in result.stderr and "KeyError" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (graderq.ProfileError("x"), ExitCode.USAGE),
        (graderq.FileError("x"), ExitCode.USAGE),
        (graderq.LimitError("x"), ExitCode.USAGE),
        (RequestTypeError("stdin must be bytes or str"), ExitCode.USAGE),
        (TypeError("a bug"), ExitCode.INTERNAL),
        (graderq.DockerError("x"), ExitCode.INFRASTRUCTURE),
        (WorkdirLost("x"), ExitCode.INFRASTRUCTURE),
        (CeleryTimeout("x"), ExitCode.INFRASTRUCTURE),
        (redis.ConnectionError("x"), ExitCode.INFRASTRUCTURE),
        (ConnectionRefusedError(), ExitCode.INFRASTRUCTURE),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (KeyError("x"), ExitCode.INTERNAL),
    ],
)
def test_exit_code_of_each_kind_of_error(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) is code


def test_an_error_raised_over_a_connection_failure_is_infrastructure() -> None:
    try:
        try:
            raise redis.ConnectionError("refused")
        except redis.ConnectionError as exc:
            raise RuntimeError("Retry limit exceeded") from exc
    except RuntimeError as exc:
        assert exit_code_for(exc) is ExitCode.INFRASTRUCTURE


def test_human_units() -> None:
    assert [seconds(v) for v in (None, 0, 0.0042, 0.12, 61.5)] == [
        "-",
        "0.00 s",
        "4.2 ms",
        "0.12 s",
        "61.50 s",
    ]
    assert [size(v) for v in (None, 512, 2048, 9_856_614, 3 * 1024**3)] == [
        "-",
        "512 B",
        "2.0 KiB",
        "9.4 MiB",
        "3.0 GiB",
    ]


def test_help_documents_the_exit_codes() -> None:
    for command in ([], ["run"], ["grade"]):
        text = invoke(*command, "--help").stdout
        assert "Exit codes:" in text
        assert "3  infrastructure error" in text and "2  bad usage" in text


# --- submit through a stand-in queue ----------------------------------------------------


def eager_submit(
    profile_name: str,
    command: str | None = None,
    files: Any = None,
    stdin: Any = None,
    limits: Any = None,
    workdir: WorkingDirectory | None = None,
) -> EagerResult:
    """client.submit's stand-in: runs on the default (fake) engine at once."""
    try:
        value, state = graderq.run(profile_name, command, files, stdin, limits, workdir), "SUCCESS"
    except Exception as exc:
        value, state = exc, "FAILURE"
    return EagerResult(str(uuid.uuid4()), value, state)


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch, backend: FakeBackend) -> Iterator[FakeBackend]:
    """client.submit on the fake engine, and graderq's tasks run eagerly on it: no broker."""
    monkeypatch.setattr(client, "submit", eager_submit)
    monkeypatch.setattr(running, "live_nodes", lambda: ["fake-node"])
    monkeypatch.setattr(records, "issue", lambda task_id, callback=None, tenant=None: None)
    monkeypatch.setattr(client, "admit", lambda app, tenant, limit: "graderq")
    monkeypatch.setattr(tasks, "_engine", graderq.get_engine)
    monkeypatch.setattr(worker, "current_node", lambda: "fake-node")
    app.conf.task_always_eager = True
    yield backend
    app.conf.task_always_eager = False


def test_submit_waits_for_the_result(queue: FakeBackend) -> None:
    result = invoke("submit", "py", "cat", "--stdin", "queued", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stdout"] == "queued"
    assert invoke("submit", "py", "fail").exit_code == ExitCode.FAILED
    unknown = invoke("submit", "nope", "true")
    assert unknown.exit_code == ExitCode.USAGE and "Profile not found" in unknown.stderr


def test_submit_without_a_result_in_time_is_an_infrastructure_error(
    monkeypatch: pytest.MonkeyPatch, queue: FakeBackend
) -> None:
    class Never:
        def get(self, **kwargs: Any) -> None:
            raise CeleryTimeout()

    monkeypatch.setattr(client, "submit", lambda *args, **kwargs: Never())
    monkeypatch.setattr(running, "live_nodes", lambda: [])
    result = invoke("submit", "py", "true", "--timeout", "0.01")
    assert result.exit_code == ExitCode.INFRASTRUCTURE
    assert "no worker is alive" in result.stderr and "no result within 0.01 s" in result.stderr


# --- grade ---------------------------------------------------------------------------


def write_tests(folder: Path, cases: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, (given, expected) in cases.items():
        (folder / f"{name}.in").write_text(given)
        suffix = ".ans" if name.startswith("ans-") else ".out"
        (folder / f"{name}{suffix}").write_text(expected)
    return folder


def test_tests_load_in_natural_order_with_out_or_ans(tmp_path: Path) -> None:
    folder = write_tests(tmp_path, {"10": ("10", "20"), "2": ("2", "4"), "ans-1": ("1", "2")})
    (tmp_path / "README").write_text("not a test")
    cases = load_tests(folder)
    assert [case.name for case in cases] == ["2", "10", "ans-1"]
    assert (cases[2].stdin, cases[2].expected) == (b"1", b"2")


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({}, "has no tests"),
        ({"README": "x"}, "has no tests"),
        ({"1.in": "1"}, r"'1' has no expected output \(1.out or 1.ans\)"),
        ({"1.in": "1", "1.out": "2", "1.ans": "2"}, "both 1.out and 1.ans"),
        ({"1.in": "1", "1.out": "2", "2.ans": "4"}, "2.ans has no matching .in"),
    ],
)
def test_malformed_tests_folders_are_refused(
    tmp_path: Path, files: dict[str, str], match: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=match):
        load_tests(tmp_path)


def grade_args(tests: Path, *extra: str) -> list[str]:
    return ["grade", "py", "--run", "double", "--tests", str(tests), *extra]


@pytest.fixture
def tests_folder(tmp_path: Path) -> Path:
    return write_tests(tmp_path / "tests", {"1": ("1", "2"), "2": ("2", "4"), "10": ("10", "20")})


def test_grade_all_accepted(queue: FakeBackend, tests_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text("int main;")
    args = grade_args(tests_folder, "--compile", "cc", "--compile-profile", "cc")
    result = invoke(*args, "--file", str(tmp_path / "main.c"), "--limit", "memory=32")
    assert result.exit_code == 0, result.output
    assert "accepted: 3/3 tests passed" in result.stdout
    compile_run, *test_runs = queue.created
    assert compile_run.spec.image == "img/cc" and compile_run.spec.command == "cc"
    assert [file.name for file in compile_run.files] == ["main.c"]
    assert {run.spec.volume for run in test_runs} == {compile_run.spec.volume}
    assert compile_run.spec.volume is not None and queue.volumes == set()  # workdir removed
    assert [run.spec.limits.memory for run in test_runs] == [32, 32, 32]
    assert [run.files for run in test_runs] == [[], [], []]


def test_grade_shows_each_verdict_and_exits_1_on_a_wrong_answer(
    queue: FakeBackend, tests_folder: Path
) -> None:
    write_tests(tests_folder, {"3": ("4", "8")})  # `double` gets 4 wrong
    result = invoke(*grade_args(tests_folder))
    assert result.exit_code == ExitCode.FAILED, result.output
    rows = [line.split("│")[1:3] for line in result.stdout.splitlines() if "│" in line]
    verdicts = [(name.strip(), verdict.strip()) for name, verdict in rows if name.strip()]
    assert verdicts == [
        ("1", "accepted"),
        ("2", "accepted"),
        ("3", "wrong answer"),
        ("10", "accepted"),
    ]
    assert "line 1:" in result.stdout and "expected: 8" in result.stdout  # the first difference
    assert "wrong answer: 3/4 tests passed; score 3/4" in result.stdout
    assert "50.0 ms" in result.stdout and "9.4 MiB" in result.stdout
    compile_run = queue.created[0]
    assert compile_run.spec.image == "img/py" and compile_run.spec.command == "true"


def test_grade_json_report(queue: FakeBackend, tests_folder: Path) -> None:
    write_tests(tests_folder, {"3": ("4", "8 ")})
    result = invoke(*grade_args(tests_folder, "--json"))
    assert result.exit_code == ExitCode.FAILED
    report = json.loads(result.stdout)
    assert (report["verdict"], report["passed"], report["total"]) == ("wrong answer", 3, 4)
    assert [test["name"] for test in report["tests"]] == ["1", "2", "3", "10"]
    assert report["tests"][2]["stdout"] == "9\n"
    assert report["tests"][2]["stdout_encoding"] == "utf-8"
    assert report["compile"]["exit_code"] == 0


def test_grade_exact_comparison(queue: FakeBackend, tmp_path: Path) -> None:
    tests = write_tests(tmp_path / "t", {"1": ("1", "2\n")})  # `double` prints "2\n"
    assert invoke(*grade_args(tests, "--exact")).exit_code == 0
    (tests / "1.out").write_text("2")
    assert invoke(*grade_args(tests)).exit_code == 0
    assert invoke(*grade_args(tests, "--exact")).exit_code == ExitCode.FAILED


def test_grade_compile_error(queue: FakeBackend, tests_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text("syntax error")
    args = grade_args(tests_folder, "--compile", "cc", "--file", str(tmp_path / "main.c"))
    result = invoke(*args)
    assert result.exit_code == ExitCode.FAILED
    assert "main.c:1: error" in result.stdout
    assert "compile error: 0/3 tests passed" in result.stdout
    assert len(queue.created) == 1  # no test ran
    report = json.loads(invoke(*args, "--json").stdout)
    assert report["verdict"] == "compile error" and report["tests"] == []


def test_grade_input_errors(queue: FakeBackend, tmp_path: Path, tests_folder: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(*grade_args(empty))
    assert result.exit_code == ExitCode.USAGE and "has no tests" in result.stderr
    missing = invoke(*grade_args(tmp_path / "nowhere"))
    assert missing.exit_code == ExitCode.USAGE and "is not a directory" in missing.stderr
    unknown = invoke("grade", "nope", "--run", "x", "--tests", str(tests_folder))
    assert unknown.exit_code == ExitCode.USAGE and "Profile not found: 'nope'" in unknown.stderr
    assert invoke("grade", "py", "--tests", str(tests_folder)).exit_code == ExitCode.USAGE
    assert queue.created == []


# --- doctor, images, janitor ------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set GRADERQ_* variables for one test; the cached settings are read afresh."""

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"GRADERQ_{name.upper()}", value)
        get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()


def test_doctor_names_each_failure_and_its_fix(
    environment: Callable[..., None], tmp_path: Path
) -> None:
    bad = tmp_path / "profiles.toml"
    bad.write_text("[profiles.x\n")
    environment(
        docker_url=f"unix://{tmp_path}/no-docker.sock",
        broker_url="redis://127.0.0.1:1/0",
        result_backend="redis://127.0.0.1:1/1",
        profiles_file=str(bad),
    )
    result = invoke("doctor", "--timeout", "2")
    assert result.exit_code == ExitCode.FAILED, result.output
    text = " ".join(result.stdout.split())
    assert "OK settings" in text
    assert "FAIL profiles" in text and "is not valid TOML" in text
    assert "FAIL docker unreachable" in text and "bash workers/provision.sh" in text
    assert "FAIL broker redis://127.0.0.1:1/0 unreachable" in text
    assert "FAIL result backend redis://127.0.0.1:1/1 unreachable" in text
    assert "4 of 5 checks failed" in text


def test_doctor_with_invalid_settings_says_so(environment: Callable[..., None]) -> None:
    environment(task_time_limit="10", task_time_margin="6")
    result = invoke("doctor")
    assert result.exit_code == ExitCode.FAILED
    text = " ".join(result.stdout.split())
    assert "FAIL settings task_time_limit must be above twice task_time_margin" in text
    assert "GRADERQ_*" in text


def test_images_build_runs_the_builder_with_the_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args_file = tmp_path / "args"
    script = tmp_path / "build.sh"
    script.write_text(f'echo "$@" > {args_file}\n[ "$1" = --offline ]\n')
    monkeypatch.setattr(maintenance, "build_script", lambda: script)
    assert invoke("images", "build").exit_code == 0
    assert args_file.read_text() == "--offline\n"
    failed = invoke("images", "build", "--registry", "--force")
    assert args_file.read_text() == "--registry --force\n"
    assert failed.exit_code == ExitCode.INFRASTRUCTURE and "exit code 1" in failed.stderr


def test_images_build_without_a_checkout_says_where_it_looked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(graderq, "__file__", str(tmp_path / "site" / "graderq" / "__init__.py"))
    result = invoke("images", "build")
    assert result.exit_code == ExitCode.INFRASTRUCTURE
    assert f"{tmp_path}/site/workers/images/build.sh is missing" in result.stderr


def test_janitor_sweeps_once_and_says_what_it_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class StubBackend(FakeBackend):
        """A janitor's view of an engine: one abandoned container, two workdirs."""

        def __init__(self) -> None:
            super().__init__()
            self.destroyed: list[str] = []
            self.removed_volumes: list[str] = []
            old = {"graderq": "sandbox", "graderq.created": "0", "graderq.owner": "elsewhere:1"}
            self.containers["old"] = FakeContainer(
                ContainerSpec("img", "true", Limits(), labels=old)
            )
            for name, expires in [("gone", "0"), ("kept", "99999999999")]:
                self.volumes.add(name)
                self.labels[name] = {"graderq": "workdir", "graderq.expires": expires}
            made.append(self)

        @classmethod
        def from_settings(cls, settings: Any) -> StubBackend:
            return cls()

        def destroy(self, container: str) -> None:
            self.destroyed.append(container)
            super().destroy(container)

        def remove_volume(self, name: str) -> None:
            self.removed_volumes.append(name)
            super().remove_volume(name)

    monkeypatch.setattr(graderq.sandbox, "DockerBackend", StubBackend)
    result = invoke("janitor", "--json")
    assert result.exit_code == 0, result.output
    settings = get_settings()
    max_age = settings.task_time_limit + settings.task_time_margin
    expected = {"containers": 1, "volumes": 1, "disks": 0, "networks": 0, "max_age": max_age}
    assert json.loads(result.stdout) == expected
    (backend,) = made
    assert backend.destroyed == ["old"] and backend.removed_volumes == ["gone"]
    text = invoke("janitor").stdout
    assert "janitor removed 1 containers, 1 volumes, 0 disks and 0 networks" in text


def test_tests_toml_gives_points_groups_and_limits(tmp_path: Path) -> None:
    from graderq.cli.params import load_groups

    write_tests(tmp_path, {"1": ("1", "2"), "big": ("9", "18")})
    (tmp_path / "tests.toml").write_text(
        '[tests.1]\npoints = 3\n[tests.big]\ngroup = "g"\nlimits = { cputime = 3 }\n'
        "[groups.g]\npoints = 7\n"
    )
    first, big = load_tests(tmp_path)
    assert first.as_test()["points"] == 3 and big.as_test()["limits"] == {"cputime": 3}
    assert load_groups(tmp_path) == {"g": {"points": 7}}
    (tmp_path / "tests.toml").write_text("[tests.ghost]\npoints = 1\n")
    with pytest.raises(ValueError, match="not in the folder"):
        load_tests(tmp_path)


def test_checker_option_values(tmp_path: Path) -> None:
    from graderq.cli.judges import parse_checker

    assert parse_checker("tokens") == "tokens"
    assert parse_checker("float:1e-4") == {"float": {"abs": 1e-4, "rel": 1e-4}}
    (tmp_path / "check.cpp").write_text("int main() {}")
    (tmp_path / "testlib.h").write_text("")
    program = parse_checker(str(tmp_path / "check.cpp"))
    assert program["command"] == "./check" and program["compile"]["profile_name"] == "gcc_compile"
    assert [file["name"] for file in program["files"]] == ["check.cpp", "testlib.h"]
    with pytest.raises(ValueError, match="is not a checker"):
        parse_checker("fuzzy")


# --- languages ---------------------------------------------------------------------------

CATALOGUE = """
[languages.ccish]
name = "C-ish"
source = "main.c"
compile_profile = "cc"
compile = "cc"
profile = "py"
run = "double"
version = "echo ccish 1.0"
"""


@pytest.fixture
def catalogue(environment: Callable[..., None], tmp_path: Path) -> Path:
    path = tmp_path / "languages.toml"
    path.write_text(CATALOGUE)
    environment(languages_file=str(path))
    return path


def test_grade_by_language_uses_the_catalogue(
    queue: FakeBackend, catalogue: Path, tests_folder: Path, tmp_path: Path
) -> None:
    source = tmp_path / "mine.c"
    source.write_text("int main;")
    result = invoke(
        "grade", "--language", "ccish", "--file", str(source), "--tests", str(tests_folder)
    )
    assert result.exit_code == 0, result.output
    compile_run, *test_runs = queue.created
    assert (compile_run.spec.image, compile_run.spec.command) == ("img/cc", "cc")
    assert [file.name for file in compile_run.files] == ["main.c"]  # the catalogue's name
    assert {run.spec.command for run in test_runs} == {"double"}


def test_grade_by_language_refuses_commands_and_unknown_ids(
    queue: FakeBackend, catalogue: Path, tests_folder: Path, tmp_path: Path
) -> None:
    source = tmp_path / "main.c"
    source.write_text("int main;")
    tests = ["--tests", str(tests_folder)]
    both = invoke("grade", "py", "--language", "ccish", "--file", str(source), *tests)
    assert both.exit_code == ExitCode.USAGE and "--language replaces PROFILE" in both.stderr
    unknown = invoke("grade", "--language", "cobol", "--file", str(source), *tests)
    assert unknown.exit_code == ExitCode.USAGE, unknown.output
    assert "unknown language 'cobol'; known languages: ccish" in unknown.stderr
    no_source = invoke("grade", "--language", "ccish", *tests)
    assert no_source.exit_code == ExitCode.USAGE and "needs the source" in no_source.stderr
    assert invoke("grade", *tests).exit_code == ExitCode.USAGE
    assert queue.created == []


def test_client_grade_by_language(queue: FakeBackend, catalogue: Path) -> None:
    tests = [{"stdin": "2", "expected": "4"}]
    report = client.grade(language="ccish", source="int main;", tests=tests).get()
    assert report["verdict"] == "accepted", report
    assert queue.created[0].files[0].name == "main.c"
    with pytest.raises(LanguageError, match="not both"):
        client.grade({"profile_name": "py"}, tests, language="ccish", source="x")
    with pytest.raises(LanguageError, match="needs source="):
        client.grade(language="ccish", tests=tests)
    with pytest.raises(LanguageError, match="unknown language 'cobol'"):
        client.grade(language="cobol", source="x", tests=tests)
    for misplaced in ({"source": "x"}, {"limits": {"memory": 64}}, {"compile_limits": {}}):
        with pytest.raises(LanguageError, match="go with language="):
            client.grade({"profile_name": "py"}, tests, **misplaced)
    limited = client.grade(
        language="ccish",
        source="int main;",
        tests=tests,
        limits={"memory": 96},
        compile_limits={"cputime": 7},
    ).get()
    assert limited["verdict"] == "accepted", limited
    made = [container.spec.limits for container in queue.created[-2:]]  # compile, run
    assert made[0].cputime == 7 and made[1].memory == 96, made
    with pytest.raises(RequestError, match="needs a run step"):
        client.grade(tests=tests)
