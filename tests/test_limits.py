import pytest

from graderq.errors import LimitError
from graderq.limits import MIB, Ceilings, Limits, lower_ceilings, merge, profile_defaults


def test_no_limits_gives_the_defaults() -> None:
    expected = Limits(cputime=1, realtime=5, memory=64, processes=64, output=8 * MIB, disk=256)
    assert merge(None) == expected


def test_realtime_is_five_times_cputime_when_not_given() -> None:
    assert merge({"cputime": 3}).realtime == 15
    assert merge({"memory": 128}).realtime == 5  # cputime default 1
    assert merge({"cputime": 3, "realtime": 4}).realtime == 4


def test_merge_keeps_the_operators_defaults_for_names_not_given() -> None:
    defaults = Limits(cputime=2, realtime=9, memory=256)
    merged = merge({"memory": 32}, defaults)
    assert (merged.cputime, merged.realtime, merged.memory) == (2, 10, 32)


@pytest.mark.parametrize("value", [None, -1])
def test_processes_none_or_minus_one_is_unlimited(value: int | None) -> None:
    assert merge({"processes": value}).processes is None


def test_unknown_limit_is_named() -> None:
    with pytest.raises(LimitError, match="'cpu_time'"):
        merge({"cpu_time": 1})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cputime", -1),
        ("memory", "64"),
        ("realtime", 0),
        ("file_size", True),
        ("processes", 0),
        ("output", None),
        ("memory", 1.5),
        ("disk", 0),
        ("disk", 2.5),
        ("disk", "1g"),
    ],
)
def test_bad_values_name_the_limit(name: str, value: object) -> None:
    with pytest.raises(LimitError, match=repr(name)):
        merge({name: value})


def test_limits_must_be_a_dict() -> None:
    with pytest.raises(LimitError, match="dict"):
        merge([("cputime", 1)])  # type: ignore[arg-type]


def test_ceiling_refuses_not_clamps() -> None:
    ceilings = Ceilings(memory=128, realtime=10)
    assert merge({"memory": 128}, ceilings=ceilings).memory == 128
    with pytest.raises(LimitError, match="'memory' is 256, above the operator's ceiling of 128"):
        merge({"memory": 256}, ceilings=ceilings)
    with pytest.raises(LimitError, match="'realtime' is unlimited"):
        merge({"realtime": None}, ceilings=ceilings)


def test_default_limits_are_checked_against_ceilings_too() -> None:
    with pytest.raises(LimitError, match="'cputime'"):
        merge(None, Limits(cputime=5), Ceilings(cputime=2))


def test_cputime_rounds_up_to_whole_seconds() -> None:
    assert Limits(cputime=0.2).rounded_cputime() == 1
    assert Limits(cputime=2.5).rounded_cputime() == 3
    assert Limits(cputime=None).rounded_cputime() is None


def test_disk_none_is_unbounded_unless_a_ceiling_forbids_it() -> None:
    assert merge({"disk": None}).disk is None
    assert merge({"disk": 1024}).disk == 1024
    with pytest.raises(LimitError, match="'disk' is unlimited, above the operator's ceiling"):
        merge({"disk": None}, ceilings=Ceilings(disk=512))


def test_io_limits_have_defaults_ceilings_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from graderq.settings import Settings

    assert (Limits().io_write, Limits().io_iops) == (50, 1000)
    assert merge({"io_write": 5, "io_iops": None}).io_write == 5
    with pytest.raises(LimitError, match="'io_iops' is unlimited, above the operator's ceiling"):
        merge({"io_iops": None}, ceilings=Ceilings(io_iops=2000))
    with pytest.raises(LimitError, match="'io_write' must be positive"):
        merge({"io_write": 0})
    monkeypatch.setenv("GRADERQ_DEFAULT_LIMITS__IO_WRITE", "20")
    monkeypatch.setenv("GRADERQ_LIMIT_CEILINGS__IO_IOPS", "500")
    settings = Settings()
    assert settings.default_limits.io_write == 20
    assert settings.limit_ceilings.io_iops == 500


def test_a_profiles_limits_sit_between_the_request_and_the_operator() -> None:
    operator = Limits(memory=64, processes=64, cputime=1)
    profile = profile_defaults(operator, {"memory": 512, "cputime": 2})
    assert (profile.memory, profile.processes, profile.cputime) == (512, 64, 2)
    assert profile.realtime == 10  # epicbox's rule, from the profile's cputime
    assert merge({"memory": 128}, profile).memory == 128
    assert profile_defaults(operator, None) is operator


def test_a_profiles_ceiling_only_lowers_the_operators() -> None:
    operator = Ceilings(memory=1024, cputime=None)
    lowered = lower_ceilings(operator, {"memory": 512, "cputime": 5})
    assert (lowered.memory, lowered.cputime) == (512, 5)
    assert lower_ceilings(operator, {"memory": 4096}).memory == 1024
    with pytest.raises(LimitError, match="ceiling of 512"):
        merge({"memory": 600}, Limits(), lowered)
