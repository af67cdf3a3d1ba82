from graderq.sandbox import Ending, Outcome, to_result


def result(**kwargs: object) -> dict:
    base = dict(
        exit_code=0, stdout=b"o", stderr=b"e", duration=0.5, oom_killed=False, ending=Ending.EXITED
    )
    return to_result(Outcome(**(base | kwargs)))  # type: ignore[arg-type]


def test_normal_exit() -> None:
    assert result(exit_code=3) == {
        "exit_code": 3,
        "stdout": b"o",
        "stderr": b"e",
        "duration": 0.5,
        "timeout": False,
        "oom_killed": False,
        "output_truncated": False,
        "cpu_time": None,
        "memory_peak": None,
    }


def test_sigkill_or_sigxcpu_without_oom_is_a_cputime_timeout() -> None:
    for code in (137, 152):
        assert result(exit_code=code)["timeout"] is True
        assert result(exit_code=code)["exit_code"] == code


def test_oom_kill_is_not_a_timeout() -> None:
    out = result(exit_code=137, oom_killed=True)
    assert (out["timeout"], out["oom_killed"]) == (False, True)


def test_realtime_kill_has_no_exit_code_but_keeps_output() -> None:
    out = result(exit_code=137, ending=Ending.REALTIME)
    assert (out["exit_code"], out["timeout"], out["stdout"]) == (None, True, b"o")


def test_output_kill_is_truncation_not_timeout() -> None:
    out = result(exit_code=137, ending=Ending.OUTPUT, output_truncated=True)
    assert (out["exit_code"], out["timeout"], out["output_truncated"]) == (None, False, True)


def test_cpu_budget_kill_is_a_timeout_with_its_exit_code() -> None:
    out = result(exit_code=137, ending=Ending.CPU)
    assert (out["exit_code"], out["timeout"], out["output_truncated"]) == (137, True, False)


def test_output_over_the_cap_always_means_no_exit_code_whatever_ended_the_run() -> None:
    # The cap can be passed while graderq drains a sandbox it killed for another reason.
    for ending, timeout in ((Ending.CPU, True), (Ending.REALTIME, True), (Ending.OUTPUT, False)):
        out = result(exit_code=137, ending=ending, output_truncated=True)
        assert (out["exit_code"], out["timeout"], out["output_truncated"]) == (None, timeout, True)
