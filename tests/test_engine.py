"""The engine's logic over the fake backend: validation, limits, cleanup."""

import pytest

import graderq
from graderq.limits import Ceilings
from graderq.sandbox import Ending, FakeBackend, Outcome
from graderq.settings import Settings


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def engine(backend: FakeBackend) -> graderq.Engine:
    settings = Settings(limit_ceilings=Ceilings(memory=512))
    profiles = [graderq.Profile("py", "img", user="sandbox", read_only=True)]
    return graderq.Engine(profiles, backend=backend, settings=settings)


def test_run_creates_starts_and_destroys(engine: graderq.Engine, backend: FakeBackend) -> None:
    result = engine.run("py", "cat", files=[{"name": "a", "content": "x"}], stdin="in")
    assert result["stdout"] == b"in"
    (created,) = backend.created
    assert created.spec.command == "cat"
    assert created.spec.user == "sandbox" and created.spec.read_only
    assert [f.name for f in created.files] == ["a"]
    assert backend.containers == {}


def test_command_defaults_to_the_profiles_then_true(backend: FakeBackend) -> None:
    engine = graderq.Engine(
        [graderq.Profile("a", "img", command="make"), graderq.Profile("b", "img")],
        backend=backend,
    )
    engine.run("a")
    engine.run("b")
    assert [c.spec.command for c in backend.created] == ["make", "true"]


def test_container_destroyed_when_the_run_fails(engine: graderq.Engine) -> None:
    def explode(container: object, stdin: object) -> Outcome:
        raise graderq.DockerError("engine gone")

    engine.backend.script = explode  # type: ignore[attr-defined]
    with pytest.raises(graderq.DockerError):
        engine.run("py", "true")
    assert engine.backend.containers == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"profile_name": "nope"}, ValueError, "Profile not found: 'nope'"),
        ({"workdir": "vol"}, ValueError, "working_directory"),
        ({"files": [{"name": "../a"}]}, graderq.FileError, "'../a'"),
        ({"limits": {"memory": 1024}}, graderq.LimitError, "'memory'.*ceiling"),
        ({"limits": {"walltime": 1}}, graderq.LimitError, "'walltime'"),
        ({"stdin": 12}, TypeError, "stdin"),
        ({"command": 12}, TypeError, "command"),
    ],
)
def test_bad_requests_fail_before_any_container(
    engine: graderq.Engine, backend: FakeBackend, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        engine.run(**({"profile_name": "py"} | kwargs))
    assert backend.created == []


def test_start_can_be_called_again(engine: graderq.Engine, backend: FakeBackend) -> None:
    with engine.create("py", "cat") as sandbox:
        assert engine.start(sandbox, b"1")["stdout"] == b"1"
        assert engine.start(sandbox, "2")["stdout"] == b"2"
    assert backend.created[0].runs == 2
    assert backend.containers == {}


def test_working_directory_is_removed_even_when_the_block_raises(
    engine: graderq.Engine, backend: FakeBackend
) -> None:
    with pytest.raises(RuntimeError), engine.working_directory() as workdir:
        assert backend.volumes == {workdir.volume}
        engine.run("py", "true", workdir=workdir)
        assert backend.created[0].spec.volume == workdir.volume
        raise RuntimeError
    assert backend.volumes == set()


def test_a_working_directory_is_a_disk_of_the_default_or_the_asked_size(
    engine: graderq.Engine, backend: FakeBackend
) -> None:
    with engine.working_directory() as default, engine.working_directory(disk=64) as small:
        assert backend.disks == {default.volume: 256, small.volume: 64}


@pytest.mark.parametrize("disk", [0, -5, 1.5, "big"])
def test_a_bad_workdir_size_is_refused_before_any_volume(
    engine: graderq.Engine, backend: FakeBackend, disk: object
) -> None:
    with pytest.raises(graderq.LimitError, match="'disk'"):
        engine.open_workdir(disk=disk)  # type: ignore[arg-type]
    assert backend.volumes == set()


def test_a_workdir_size_above_the_ceiling_is_refused(backend: FakeBackend) -> None:
    settings = Settings(limit_ceilings=Ceilings(disk=100))
    engine = graderq.Engine([graderq.Profile("py", "img")], backend=backend, settings=settings)
    with pytest.raises(graderq.LimitError, match="'disk' is 256, above the operator's ceiling"):
        engine.open_workdir()
    assert engine.open_workdir(disk=100) and list(backend.disks.values()) == [100]


def test_timeout_result_through_the_engine(engine: graderq.Engine) -> None:
    engine.backend.script = lambda c, s: Outcome(  # type: ignore[attr-defined]
        137, b"partial", b"", 5.0, False, Ending.REALTIME
    )
    result = engine.run("py", "sleep 100")
    assert (result["timeout"], result["exit_code"], result["stdout"]) == (True, None, b"partial")


def test_module_api_uses_the_configured_default_engine(backend: FakeBackend) -> None:
    engine = graderq.get_engine()
    saved = (engine._profiles, engine.backend)
    try:
        graderq.configure(profiles={"p": {"docker_image": "img"}}, backend=backend)
        assert graderq.run("p", "cat", stdin=b"hi")["stdout"] == b"hi"
        with graderq.create("p", "cat") as sandbox:
            assert graderq.start(sandbox, "x")["stdout"] == b"x"
        assert backend.containers == {}
    finally:
        engine._profiles, engine.backend = saved


def test_requests_over_the_size_bounds_are_refused(backend: FakeBackend) -> None:
    settings = Settings(max_files=2, max_input_bytes=10)
    engine = graderq.Engine([graderq.Profile("py", "img")], backend=backend, settings=settings)
    three = [{"name": f"f{i}"} for i in range(3)]
    with pytest.raises(graderq.RequestTooLarge, match="3 files, more than the 2 allowed"):
        engine.run("py", files=three)
    with pytest.raises(graderq.RequestTooLarge, match="files: 11 bytes"):  # name + content
        engine.run("py", files=[{"name": "a", "content": b"x" * 10}])
    with pytest.raises(graderq.RequestTooLarge, match="1 files and 2 directories, more than"):
        engine.run("py", files=[{"name": "d/e/f"}])
    with pytest.raises(graderq.RequestTooLarge, match="stdin: 11 bytes"):
        engine.run("py", stdin=b"x" * 11)
    assert backend.created == []
    assert engine.run("py", "cat", files=[{"name": "a", "content": b"x" * 9}], stdin=b"y")


def test_a_profiles_limits_apply_under_the_request_and_its_ceilings_lower_the_operators() -> None:
    profile = graderq.Profile(
        "big", "img", limits={"memory": 512, "processes": 256}, ceilings={"memory": 1024}
    )
    engine = graderq.Engine(profiles=[profile], backend=FakeBackend())
    merged = engine.limits({"processes": 100}, profile)
    assert (merged.memory, merged.processes) == (512, 100)
    assert engine.limits(None).memory == 64  # no profile: the operator's defaults
    with pytest.raises(graderq.LimitError, match="ceiling of 1024"):
        engine.limits({"memory": 2048}, profile)
