"""Callbacks: how a finished task's result reaches the LMS without anyone waiting.

A callback is given at submit time and is one of:
- a Celery signature of the LMS's own app: the worker sends it through graderq's
  broker to the queue it names (else the queue the LMS's app routes it to), with the
  result first among its arguments;
- an http(s) URL: the worker POSTs the result as JSON, signed with
  `X-Graderq-Signature: sha256=<hex HMAC-SHA256 of the body>` keyed by
  GRADERQ_WEBHOOK_SECRET, retried with backoff for GRADERQ_WEBHOOK_RETRY_FOR seconds.

A callback never delays or fails the task: it is sent after the result is stored, and
a delivery that fails is logged and counted (graderq.keys.CALLBACK_FAILURES).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from celery.canvas import Signature, _chain, chord, group
from kombu.utils.json import dumps as kombu_dumps

from graderq.errors import CallbackError
from graderq.plain_json import jsonable

log = logging.getLogger("graderq.callbacks")

SIGNATURE_HEADER = "X-Graderq-Signature"
SIGNATURE_OPTIONS = ("queue", "routing_key", "exchange", "priority", "expires")
"""The options of an LMS signature that graderq's worker keeps when it sends it."""


def callback_spec(callback: Any) -> dict[str, Any] | None:
    """The JSON form of a callback, checked at submit time (CallbackError if bad)."""
    if callback is None:
        return None
    if isinstance(callback, str):
        parts = urlsplit(callback)
        if parts.scheme in ("http", "https") and parts.hostname:
            return {"url": callback}
        raise CallbackError(f"callback URL {callback!r} is not an http:// or https:// URL")
    if isinstance(callback, _chain | group | chord):
        raise CallbackError("callback must be the signature of one task, not a canvas")
    if isinstance(callback, Signature):
        return {"signature": _signature_spec(callback)}
    raise CallbackError(
        "callback must be a Celery signature of your app's task, e.g. "
        "app.signature('lms.store_grade', args=[42], queue='lms'), or an http(s) URL; "
        f"not {type(callback).__name__}"
    )


def _signature_spec(signature: Signature) -> dict[str, Any]:
    options = {key: signature.options[key] for key in SIGNATURE_OPTIONS if key in signature.options}
    if "queue" not in options:
        options["queue"] = _routed_queue(signature)
    spec = {
        "task": signature.task,
        "args": list(signature.args),
        "kwargs": dict(signature.kwargs),
        "options": options,
    }
    try:
        kombu_dumps(spec)
    except (TypeError, ValueError) as exc:
        raise CallbackError(
            f"callback {signature.task!r} has arguments JSON cannot carry: {exc}"
        ) from None
    return spec


def _routed_queue(signature: Signature) -> str:
    """The queue the signature's own app would send it to; graderq's queue never."""
    app = signature._app
    if app is None:
        raise CallbackError(
            f"callback {signature.task!r} names no queue and belongs to no app; make it "
            "with your app (app.signature(...)) or give queue='...'"
        )
    route = app.amqp.router.route({}, signature.task, signature.args, signature.kwargs)
    return route["queue"].name


def outcome(task_id: str, state: str, value: Any) -> dict[str, Any]:
    """What a callback receives: the result, or for a failure an error description."""
    if state == "SUCCESS":
        return value
    return {"task_id": task_id, "error": type(value).__name__, "message": str(value)}


def send_signature(app: Any, spec: Mapping[str, Any], value: Any) -> None:
    """Send the LMS's task through graderq's broker, `value` first among its arguments."""
    app.send_task(
        spec["task"], args=[value, *spec["args"]], kwargs=spec["kwargs"], **spec["options"]
    )


def webhook_body(task_id: str, state: str, value: Any) -> bytes:
    """The JSON a webhook receives: {'task_id', 'state', 'result'}, bytes as text."""
    document = {"task_id": task_id, "state": state, "result": jsonable(value)}
    return json.dumps(document, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """The X-Graderq-Signature header's value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the signature of `body` under `secret` (for receivers)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)
