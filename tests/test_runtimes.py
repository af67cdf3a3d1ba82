"""A runtime per profile: refused when the daemon lacks it, adapted or refused for gVisor."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from graderq.errors import ProfileError
from graderq.limits import Limits
from graderq.profiles import Profile, build_profiles
from graderq.sandbox.runtimes import READ_ONLY_TMP, adapt
from graderq.sandbox.spec import ContainerSpec, create_body, run_spec

RUNTIMES: dict[str, dict[str, Any]] = {
    "runc": {"path": "runc"},
    "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]},
    "runsc-net": {"path": "/usr/bin/runsc"},
    "crun": {"path": "/usr/bin/crun"},
}


def spec(runtime: str | None, **options: Any) -> ContainerSpec:
    limits = options.pop("limits", Limits(processes=None))
    profile = Profile(name="p", docker_image="img", runtime=runtime, **options)
    return run_spec(profile, "true", limits)


def adapted(container: ContainerSpec) -> dict[str, Any]:
    body = create_body(container)
    adapt(body, container, RUNTIMES)
    return body["HostConfig"]


def test_a_profile_names_its_runtime_in_python_and_toml() -> None:
    assert Profile(name="p", docker_image="img").runtime is None
    assert (
        build_profiles({"p": {"docker_image": "img", "runtime": "runsc"}})["p"].runtime == "runsc"
    )
    with pytest.raises(ProfileError, match="runtime"):
        build_profiles({"p": {"docker_image": "img", "runtime": " "}})


def test_the_runtime_reaches_the_container_and_none_leaves_the_daemons_default() -> None:
    assert create_body(spec("crun"))["HostConfig"]["Runtime"] == "crun"
    assert "Runtime" not in create_body(spec(None))["HostConfig"]
    assert adapted(spec("crun"))["Runtime"] == "crun"  # nothing to add or refuse


def test_a_runtime_the_daemon_does_not_know_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"no runtime 'kata'.*crun, runc, runsc"):
        adapted(spec("kata"))


def test_gvisor_without_its_network_flag_is_refused_for_a_sandbox_without_network() -> None:
    with pytest.raises(ProfileError, match="--network=none"):
        adapted(spec("runsc-net"))
    networked = dataclasses.replace(spec("runsc-net", network_disabled=False), network="own")
    assert adapted(networked)["Runtime"] == "runsc-net"


def test_gvisor_refuses_a_processes_limit_it_would_not_enforce() -> None:
    with pytest.raises(ProfileError, match="processes"):
        adapted(spec("runsc", limits=Limits()))  # the default 64
    assert adapted(spec("runsc", limits=Limits(processes=None)))["PidsLimit"] == -1


def test_gvisor_gets_a_read_only_tmp_with_a_read_only_root() -> None:
    assert adapted(spec("runsc", read_only=True))["Tmpfs"]["/tmp"] == READ_ONLY_TMP
    unbounded = spec("runsc", limits=Limits(processes=None, disk=None))
    assert "/tmp" not in adapted(unbounded).get("Tmpfs", {})  # a writable root: as with runc
    bounded = adapted(spec("runsc", limits=Limits(processes=None, disk=16)))
    assert bounded["Tmpfs"]["/tmp"].startswith("rw,")  # its own bounded /tmp stays
