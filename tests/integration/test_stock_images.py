"""Any image works: on stock-like images (no /sandbox, or root's 0755), for a profile
user of root, a named user or none, a sandbox writes in /sandbox, reads and runs its
files, compiles then runs in a workdir, and every run of a workdir may use what an
earlier run left, whatever modes it chose."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import graderq
from tests.integration.stock import KINDS, USERS, stock_profiles
from tests.integration.support import make_settings, pooled_uid

pytestmark = pytest.mark.timeout(120)

CASES = [(kind, user) for kind in KINDS for user in USERS]
IDS = [f"{kind}-{user}" for kind, user in CASES]
ADD_C = b'#include <stdio.h>\nint main(void) { puts("compiled and ran"); return 0; }\n'
PRIVATE = (
    "(umask 077; echo s1 > priv) && chmod 600 priv && "
    "python3 -c 'import tempfile; print(tempfile.mkstemp(dir=\".\")[1])' > mkstemp && "
    'python3 -c \'import tempfile; f = tempfile.NamedTemporaryFile(dir=".", delete=False); '
    'f.write(b"named\\n"); print(f.name)\' > named && '
    'mktemp -d -p . > tmpdir && echo inside > "$(cat tmpdir)/f" && id -u'
)
"""The first run: files and a directory that only their owner may use."""
REUSE = (
    'echo s2 >> priv && cat priv && echo m >> "$(cat mkstemp)" && cat "$(cat named)" && '
    'cat "$(cat tmpdir)/f" && touch "$(cat tmpdir)/g" && rm -r "$(cat tmpdir)" '
    '"$(cat mkstemp)" "$(cat named)" && echo reused && id -u'
)
"""The next run: reads, appends to, adds to and removes all of it."""


@pytest.fixture
def stock_engine() -> graderq.Engine:
    return graderq.Engine(profiles=stock_profiles(), settings=make_settings())


@pytest.mark.parametrize(("kind", "user"), CASES, ids=IDS)
def test_a_run_writes_in_sandbox_with_files_and_without(
    stock_engine: graderq.Engine, kind: str, user: str
) -> None:
    profile = f"python-{kind}-{user}"
    bare = stock_engine.run(profile, "printf x > f && cat f && pwd")
    files = [
        {"name": "main.py", "content": "print('read')\n"},
        {"name": "bin/run.sh", "content": "#!/bin/sh\necho ran\n", "executable": True},
    ]
    filed = stock_engine.run(
        profile, "python3 main.py && ./bin/run.sh && echo y > bin/new && cat bin/new", files=files
    )

    assert (bare["exit_code"], bare["stdout"], bare["stderr"]) == (0, b"x/sandbox\n", b""), bare
    assert (filed["exit_code"], filed["stdout"]) == (0, b"read\nran\ny\n"), filed


@pytest.mark.parametrize(("kind", "user"), CASES, ids=IDS)
def test_compile_then_run_in_a_workdir(stock_engine: graderq.Engine, kind: str, user: str) -> None:
    profile = f"gcc-{kind}-{user}"
    with stock_engine.working_directory() as workdir:
        compiled = stock_engine.run(
            profile,
            "gcc -o prog main.c && echo compiled > artifact",
            files=[{"name": "main.c", "content": ADD_C}],
            workdir=workdir,
            limits={"cputime": 10, "memory": 256},
        )
        ran = stock_engine.run(profile, "./prog && cat artifact", workdir=workdir)

    assert compiled["exit_code"] == 0, compiled
    assert (ran["exit_code"], ran["stdout"]) == (0, b"compiled and ran\ncompiled\n"), ran


@pytest.mark.parametrize(("kind", "user"), CASES, ids=IDS)
def test_a_workdirs_next_run_uses_what_an_earlier_run_made_private(
    stock_engine: graderq.Engine, kind: str, user: str
) -> None:
    """Run 2 goes while other sandboxes run (one of another workdir, one without any):
    the workdir's runs share its UID, which neither of those has."""
    profile = f"python-{kind}-{user}"
    with (
        stock_engine.working_directory() as workdir,
        stock_engine.working_directory() as other_workdir,
    ):
        first = stock_engine.run(profile, PRIVATE, workdir=workdir)
        with (
            stock_engine.create(profile, "sleep 1; id -u", workdir=other_workdir) as other,
            stock_engine.create(profile, "sleep 1; id -u") as alone,
            ThreadPoolExecutor(2) as pool,
        ):
            others = [pool.submit(stock_engine.start, box) for box in (other, alone)]
            second = stock_engine.run(profile, REUSE, workdir=workdir)
            other_uid, alone_uid = (pooled_uid(f.result()["stdout"]) for f in others)

    assert first["exit_code"] == 0, first
    lines = second["stdout"].decode().splitlines()
    assert second["exit_code"] == 0 and second["stderr"] == b"", second
    assert lines[:5] == ["s1", "s2", "named", "inside", "reused"], second
    uid = pooled_uid(lines[5])
    assert uid == pooled_uid(first["stdout"]), "the runs of one workdir share its UID"
    assert len({uid, other_uid, alone_uid}) == 3, "no other sandbox shares the workdir's UID"


@pytest.mark.parametrize("kind", KINDS)
def test_a_read_only_profile_on_a_stock_image_writes_only_in_sandbox(
    stock_engine: graderq.Engine, kind: str
) -> None:
    """Nothing else becomes writable: not the root, not the image's own directories."""
    profiles = {"ro": {"docker_image": f"graderq-test/python-{kind}:1", "read_only": True}}
    engine = graderq.Engine(profiles=profiles, settings=make_settings())
    result = engine.run("ro", "echo x > f && cat f; touch /etc/x /x 2>&1 | wc -l")

    assert result["stdout"] == b"x\n2\n", result
