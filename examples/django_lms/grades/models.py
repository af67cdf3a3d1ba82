from django.db import models


class Submission(models.Model):
    """A student's code for the built-in problem, and its verdict once graded."""

    class Language(models.TextChoices):
        PYTHON = "python", "Python 3"
        C = "c", "C (gcc)"

    class GradedBy(models.TextChoices):
        CALLBACK = "callback", "graderq's callback"
        POLL = "poll", "polling by task id"
        WAIT = "wait", "waiting for the result"

    code = models.TextField()
    language = models.CharField(max_length=16, choices=Language, default=Language.PYTHON)
    task_id = models.CharField("graderq task id", max_length=36, blank=True)
    verdict = models.CharField(max_length=32, blank=True)
    report = models.JSONField(null=True, blank=True)
    graded_by = models.CharField(max_length=16, choices=GradedBy, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"submission {self.pk} ({self.language}): {self.verdict or 'pending'}"

    def as_json(self) -> dict:
        report = self.report or {}
        return {
            "id": self.pk,
            "language": self.language,
            "task_id": self.task_id,
            "verdict": self.verdict or None,
            "passed": report.get("passed"),
            "total": report.get("total"),
            "graded_by": self.graded_by or None,
        }
