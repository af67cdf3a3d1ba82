"""Webhooks: POST a finished task's result to the LMS, signed, from a worker."""

from __future__ import annotations

import httpx

from graderq.errors import WebhookRefused
from graderq.queue.callbacks import SIGNATURE_HEADER, sign
from graderq.settings import Settings

RETRIED_STATUSES = frozenset({408, 425, 429})
"""Answers besides 5xx that mean "try again later"; any other non-2xx answer is final."""


def post(url: str, body: bytes, settings: Settings) -> None:
    """POST `body` (JSON) to `url`, signed with the webhook secret; WebhookRefused if
    the receiver is unreachable, too slow, or does not answer 2xx."""
    if settings.webhook_secret is None:
        raise WebhookRefused(
            "GRADERQ_WEBHOOK_SECRET is not set: webhooks are not sent unsigned", True
        )
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, settings.webhook_secret.get_secret_value()),
    }
    try:
        answer = httpx.post(url, content=body, headers=headers, timeout=settings.webhook_timeout)
    except httpx.HTTPError as exc:
        raise WebhookRefused(f"{type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        status = answer.status_code
        permanent = status < 500 and status not in RETRIED_STATUSES
        raise WebhookRefused(f"the receiver answered {answer.status_code}", permanent)
