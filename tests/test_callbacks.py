"""Callbacks: checked at submit time, signed for webhooks, sent by the last task."""

import http.server
import threading
from types import SimpleNamespace

import pytest
from celery import Celery, chain

import graderq as epicbox
from graderq.errors import CallbackError, DockerError, GraderqError, LimitError
from graderq.queue import callbacks
from graderq.queue.tasks import final_task_id

lms = Celery("lms")
lms.conf.task_default_queue = "lms"


def test_a_signature_keeps_its_task_arguments_and_queue() -> None:
    spec = callbacks.callback_spec(lms.signature("lms.store", args=[7], kwargs={"a": 1}))
    assert spec == {
        "signature": {
            "task": "lms.store",
            "args": [7],
            "kwargs": {"a": 1},
            "options": {"queue": "lms"},
        }
    }
    named = callbacks.callback_spec(lms.signature("lms.store", queue="grades", priority=3))
    assert named["signature"]["options"] == {"queue": "grades", "priority": 3}


def test_a_url_callback_must_be_http_or_https() -> None:
    assert callbacks.callback_spec("https://lms.example/hook") == {
        "url": "https://lms.example/hook"
    }
    assert callbacks.callback_spec(None) is None


@pytest.mark.parametrize(
    "callback",
    ["ftp://host/x", "http://", "lms.store", 42, {"task": "lms.store"}, b"http://x"],
)
def test_anything_else_is_refused_with_a_hint(callback: object) -> None:
    with pytest.raises(CallbackError, match="callback"):
        callbacks.callback_spec(callback)


def test_canvases_and_unroutable_or_unserialisable_signatures_are_refused() -> None:
    with pytest.raises(CallbackError, match="one task"):
        callbacks.callback_spec(chain(lms.signature("a"), lms.signature("b")))
    from celery import signature

    with pytest.raises(CallbackError, match="names no queue"):
        callbacks.callback_spec(signature("lms.store"))
    with pytest.raises(CallbackError, match="JSON"):
        callbacks.callback_spec(lms.signature("lms.store", args=[object()]))


def test_webhook_bodies_are_plain_json_and_signed() -> None:
    body = callbacks.webhook_body("id-1", "SUCCESS", {"stdout": b"hi\n", "exit_code": 0})
    assert body == (
        b'{"task_id":"id-1","state":"SUCCESS","result":'
        b'{"stdout":"hi\\n","stdout_encoding":"utf-8","exit_code":0}}'
    )
    header = callbacks.sign(body, "k")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert callbacks.verify(body, header, "k")
    assert not callbacks.verify(body + b" ", header, "k")
    assert not callbacks.verify(body, header, "other") and not callbacks.verify(body, None, "k")


def test_a_failure_reaches_the_callback_as_an_error_description() -> None:
    sent = callbacks.outcome("id-2", "FAILURE", LimitError("limit 'memory' too high"))
    assert sent == {"task_id": "id-2", "error": "LimitError", "message": "limit 'memory' too high"}


def test_the_final_task_is_the_last_of_the_chain_or_chord() -> None:
    alone = SimpleNamespace(id="a", chain=None, chord=None)
    assert final_task_id(alone) == "a"
    chained = SimpleNamespace(
        id="a", chain=[{"task": "j", "options": {"task_id": "z"}}], chord=None
    )
    assert final_task_id(chained) == "z"
    body = {
        "task": "celery.chain",
        "kwargs": {"tasks": [{"options": {"task_id": "c"}}, {"options": {"task_id": "j"}}]},
    }
    assert final_task_id(SimpleNamespace(id="run", chain=None, chord=body)) == "j"


def test_every_error_is_in_the_top_level_package() -> None:
    for name in dir(epicbox.errors):
        value = getattr(epicbox.errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert getattr(epicbox, name) is value, name
    assert epicbox.BackendUnavailable is epicbox.errors.BackendUnavailable


def test_epicbox_module_surface() -> None:
    assert epicbox.exceptions.DockerError is DockerError is epicbox.DockerError
    assert epicbox.exceptions.EpicBoxError is GraderqError
    for name in dir(epicbox.errors):
        value = getattr(epicbox.errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, epicbox.exceptions.EpicBoxError)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (501, False), (503, False), (505, False), (429, False), (404, True)],
)
def test_every_5xx_answer_is_retried(status: int, permanent: bool) -> None:
    """Over real HTTP on loopback: a receiver's 5xx (and 408/425/429) is worth another
    try; any other refusal is final."""
    from graderq.queue.webhooks import WebhookRefused, post
    from graderq.settings import Settings

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        with pytest.raises(WebhookRefused) as refused:
            post(url, b"{}", Settings(webhook_secret="k"))
    finally:
        server.shutdown()
    assert refused.value.permanent is permanent
    assert f"answered {status}" in str(refused.value)
