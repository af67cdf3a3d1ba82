import pytest

from graderq.engine import WorkingDirectory
from graderq.errors import WorkdirError
from graderq.queue.app import short_repr
from graderq.queue.routing import node_queue, route_task, workdir_route
from graderq.queue.tasks import run_sandbox
from graderq.workdir import as_workdir


def test_workdir_tasks_route_to_their_nodes_queue() -> None:
    workdir = WorkingDirectory("v", "node1")
    expected = {"queue": "graderq.node.node1", "routing_key": "graderq.node.node1"}
    assert workdir_route(workdir) == expected
    for args, kwargs in [
        (("python", "true"), {"workdir": workdir}),
        (("python", "true", None, None, None, {"volume": "v", "node": "node1"}), {}),
    ]:
        assert route_task("graderq.run_sandbox", args, kwargs, {}, task=run_sandbox) == expected


def test_tasks_without_workdir_take_the_default_route() -> None:
    assert route_task("graderq.run_sandbox", ("python",), {}, {}, task=run_sandbox) is None
    assert route_task("other.task", (), {}, {}, task=None) is None


def test_bad_workdir_handles() -> None:
    with pytest.raises(ValueError, match="working_directory"):
        as_workdir("graderq-wd-1")
    with pytest.raises(WorkdirError, match="no node"):
        workdir_route(WorkingDirectory("v"))
    with pytest.raises(WorkdirError, match="invalid node"):
        node_queue("a b")


def test_short_repr_shows_names_and_sizes_never_contents() -> None:
    shown = short_repr(
        {
            "profile_name": "python",
            "files": [{"name": "a.py", "content": "SECRET" * 100}],
            "stdin": "HIDDEN" * 50,
            "limits": None,
        }
    )
    assert "SECRET" not in shown and "HIDDEN" not in shown
    assert shown == "{profile_name='python', files=[1 files: a.py], stdin=<300 bytes>}"


def test_delay_sets_short_reprs_and_leaves_time_limits_to_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = {}

    def capture(self, args=None, kwargs=None, **options):  # type: ignore[no-untyped-def]
        sent.update(options)

    monkeypatch.setattr("celery.app.task.Task.apply_async", capture)
    run_sandbox.delay("python", "true", stdin="x" * 10, limits={"cputime": 2})
    assert "<10 bytes>" in sent["kwargsrepr"]
    assert "soft_time_limit" not in sent and "time_limit" not in sent


def test_a_workdir_handle_is_plain_json_and_comes_back_whole() -> None:
    import json

    workdir = WorkingDirectory("graderq-wd-1", "node1")
    carried = json.loads(json.dumps(workdir))
    assert carried == {"volume": "graderq-wd-1", "node": "node1"}
    back = as_workdir(carried)
    assert isinstance(back, WorkingDirectory)
    assert (back.volume, back.node) == ("graderq-wd-1", "node1")
