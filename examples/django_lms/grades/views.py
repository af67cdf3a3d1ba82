"""Submit code, see its verdict, and fetch a verdict from graderq by id or by waiting."""

import json
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from graderq import GraderqError, client
from graderq.app import app as graderq_app

from grades.grading import LANGUAGES, TESTS, TITLE, enqueue, store
from grades.models import Submission


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = {
        "title": TITLE,
        "tests": TESTS,
        "languages": Submission.Language.choices,
        "submissions": Submission.objects.all()[:20],
    }
    return render(request, "grades/index.html", context)


def _submitted(request: HttpRequest) -> tuple[dict[str, Any], bool]:
    """The submitted fields, from a JSON body or a form, and whether it was JSON."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            data = None
        return (data if isinstance(data, dict) else {}), True
    fields = {"code": request.POST.get("code"), "language": request.POST.get("language")}
    fields["callback"] = request.POST.get("callback", "on") == "on"
    return fields, False


@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    """Store a submission and queue its grading; `callback` false leaves fetching the
    verdict to the poll or wait paths."""
    data, as_json = _submitted(request)
    code, language = data.get("code"), data.get("language") or Submission.Language.PYTHON
    callback = data.get("callback", True)
    if not isinstance(code, str) or not code.strip():
        return JsonResponse({"error": "'code' must be non-empty text"}, status=400)
    if language not in LANGUAGES:
        return JsonResponse({"error": f"'language' must be one of {list(LANGUAGES)}"}, status=400)
    if not isinstance(callback, bool):
        return JsonResponse({"error": "'callback' must be true or false"}, status=400)
    submission = Submission.objects.create(code=code, language=language)
    try:
        enqueue(submission, callback=callback)
    except GraderqError as exc:
        submission.delete()
        return JsonResponse({"error": f"grading is unavailable: {exc}"}, status=503)
    if as_json:
        return JsonResponse(submission.as_json(), status=202)
    return redirect("detail", pk=submission.pk)


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored verdict (HTML, or JSON for Accept: application/json)."""
    submission = get_object_or_404(Submission, pk=pk)
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        return JsonResponse(submission.as_json())
    return render(request, "grades/submission.html", {"submission": submission})


def _graded(submission: Submission, report: dict[str, Any], graded_by: str) -> JsonResponse:
    store(submission.pk, report, graded_by)
    submission.refresh_from_db()
    return JsonResponse({"ready": True, **submission.as_json()})


def _failure(exc: GraderqError) -> dict[str, str]:
    return {"error": type(exc).__name__, "message": str(exc)}


@require_GET
def poll(request: HttpRequest, pk: int) -> JsonResponse:
    """Ask graderq for the result by task id; store the verdict if it is ready."""
    submission = get_object_or_404(Submission, pk=pk)
    try:
        report = client.result(submission.task_id)
    except GraderqError as exc:  # the grading failed, or its result expired
        return _graded(submission, _failure(exc), "poll")
    if report is None:
        return JsonResponse({"ready": False, **submission.as_json()})
    return _graded(submission, report, "poll")


@require_GET
def wait(request: HttpRequest, pk: int) -> JsonResponse:
    """Block until graderq has the result (for scripts), then store the verdict."""
    submission = get_object_or_404(Submission, pk=pk)
    handle = AsyncResult(submission.task_id, app=graderq_app)
    try:
        report = handle.get(timeout=settings.LMS_WAIT_TIMEOUT)
    except CeleryTimeout:
        return JsonResponse({"ready": False, **submission.as_json()}, status=504)
    except GraderqError as exc:
        return _graded(submission, _failure(exc), "wait")
    return _graded(submission, report, "wait")
