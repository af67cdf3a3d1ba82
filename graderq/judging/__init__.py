"""Judging: what a verdict is and how a run's output earns it; pure, no I/O.

Comparators, checkers (testlib's convention), teacher's programs as data, scoring by
points and groups, verdicts, and a grading's report.
"""
