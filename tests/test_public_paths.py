"""The paths and names the docs and examples give stay, whatever the modules behind them.

LMS code, receivers and queued messages were written against these: `import graderq as
epicbox`, graderq.client, `from graderq.tasks import run_sandbox`, `celery -A graderq`,
`python -m graderq.demo`, the task names on the wire.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from pathlib import Path

import pytest
from celery.app.utils import find_app

import graderq
import graderq.queue.app
import graderq.queue.callbacks
import graderq.queue.tasks

TASK_NAMES = {
    "graderq.run_sandbox",
    "graderq.create_workdir",
    "graderq.remove_workdir",
    "graderq.run_test",
    "graderq.compile_and_run",
    "graderq.collect_runs",
    "graderq.judge",
    "graderq.deliver_webhook",
}
DOCUMENTED = [
    "graderq.run",
    "graderq.create",
    "graderq.start",
    "graderq.destroy",
    "graderq.configure",
    "graderq.working_directory",
    "graderq.get_engine",
    "graderq.Profile",
    "graderq.Limits",
    "graderq.GraderqError",
    "graderq.exceptions.GraderqError",
    "graderq.errors.GraderqError",
    "graderq.engine.Engine",
    "graderq.engine.Sandbox",
    "graderq.engine.WorkingDirectory",
    "graderq.engine.get_engine",
    "graderq.engine.set_engine",
    "graderq.client.submit",
    "graderq.client.run",
    "graderq.client.wait",
    "graderq.client.result",
    "graderq.client.progress",
    "graderq.client.compile_and_run",
    "graderq.client.grade",
    "graderq.client.working_directory",
    "graderq.tasks.run_sandbox",
    "graderq.callbacks.verify",
    "graderq.app.app",
    "graderq.settings.Settings",
    "graderq.settings.get_settings",
    "graderq.plain_json.jsonable",
]


def resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", DOCUMENTED)
def test_every_documented_name_is_there(path: str) -> None:
    assert resolve(path) is not None


def test_celery_dash_a_graderq_finds_graderqs_app() -> None:
    assert find_app("graderq") is graderq.queue.app.app
    assert graderq.celery is graderq.queue.app.app


def test_the_task_names_on_the_wire_stay() -> None:
    app = graderq.queue.app.app
    app.loader.import_default_modules()
    assert {name for name in app.tasks if name.startswith("graderq.")} == TASK_NAMES


def test_the_re_exports_are_the_queues_own_objects() -> None:
    import graderq.app
    import graderq.callbacks
    import graderq.tasks

    for module, source in [
        (graderq.tasks, graderq.queue.tasks),
        (graderq.callbacks, graderq.queue.callbacks),
        (graderq.app, graderq.queue.app),
    ]:
        assert module.__all__
        for name in module.__all__:
            assert getattr(module, name) is getattr(source, name), (module.__name__, name)


def test_python_dash_m_graderq_demo_and_the_graderq_command_exist() -> None:
    assert importlib.util.find_spec("graderq.demo") is not None
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    entry = pyproject["project"]["scripts"]["graderq"]
    module, _, name = entry.partition(":")
    assert callable(getattr(importlib.import_module(module), name))
