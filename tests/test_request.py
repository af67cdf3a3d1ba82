import pytest

from graderq.errors import FileError, RequestTooLarge
from graderq.request import check_size, parse_command, parse_files, parse_stdin


def test_files_are_validated_and_str_content_encoded() -> None:
    files = parse_files([{"name": "a.py", "content": "é"}, {"name": "d/b", "content": b"x"}])
    assert [(f.name, f.content) for f in files] == [("a.py", "é".encode()), ("d/b", b"x")]


def test_missing_content_is_empty() -> None:
    assert parse_files([{"name": "empty"}])[0].content == b""


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ({"name": "", "content": b""}, "#0.*empty"),
        ({"name": "/etc/passwd", "content": b""}, "'/etc/passwd'.*absolute"),
        ({"name": "../x", "content": b""}, r"'\.\./x'.*'\.\.'"),
        ({"name": "a/../../x", "content": b""}, r"'a/\.\./\.\./x'"),
        ({"name": "a\0b", "content": b""}, "NUL"),
        ({"name": "a//b", "content": b""}, "empty or '.' component"),
        ({"name": "main.py", "content": 42}, "'main.py'.*content must be bytes or str, not int"),
        ({"name": 7, "content": b""}, "#0.*name must be a str"),
        ({"name": "a", "content": b"", "mode": 7}, "'a'.*mode"),
    ],
)
def test_bad_files_are_named(file: dict, message: str) -> None:
    with pytest.raises(FileError, match=message):
        parse_files([file])


def test_files_must_be_a_list_of_dicts() -> None:
    with pytest.raises(FileError):
        parse_files({"name": "a", "content": b""})  # type: ignore[arg-type]
    with pytest.raises(FileError, match="#1 must be a dict"):
        parse_files([{"name": "a"}, "b"])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(FileError, match="'a' is given twice"):
        parse_files([{"name": "a"}, {"name": "a"}])


def test_a_name_that_is_also_a_directory_is_refused() -> None:
    with pytest.raises(FileError, match="'a' is also a directory \\(of the file 'a/b'\\)"):
        parse_files([{"name": "a/b"}, {"name": "a"}])


@pytest.mark.parametrize(
    ("name", "message"),
    [("a" * 256, "longer than 255 bytes"), ("/".join(["b" * 255] * 17), "more than 4096")],
)
def test_names_are_bounded(name: str, message: str) -> None:
    with pytest.raises(FileError, match=message):
        parse_files([{"name": name}])
    parse_files([{"name": "a" * 255}])


def test_depth_and_implied_directories_count() -> None:
    given = [{"name": "a/b/c", "content": b"xy"}, {"name": "a/d"}]
    files = parse_files(given, max_files=4, max_bytes=14, max_depth=3)
    check_size(files, None, max_files=4, max_bytes=14)  # 2 files, dirs a, a/b
    with pytest.raises(RequestTooLarge, match="2 files and 2 directories, more than the 3"):
        check_size(files, None, max_files=3, max_bytes=100)
    with pytest.raises(RequestTooLarge, match="files: 14 bytes, more than the 13"):
        check_size(files, None, max_files=4, max_bytes=13)  # 2 + 'a/b/c' 'a/d' 'a' 'a/b'
    with pytest.raises(FileError, match=r"'a/b/c'.*3 levels deep, more than the 2 allowed"):
        parse_files(given, max_depth=2)


def test_the_cheap_bounds_come_before_the_costly_checks() -> None:
    """Deep names cost depth x length to check for directories (10,000 such names took
    12 s); a hostile request is refused by its count, a name's depth or its bytes
    first, though its last name is also a directory of the others."""
    deep = "/".join(["d"] * 2047)  # 4 KB, 2,047 levels
    hostile = [{"name": f"{deep}/{i}"} for i in range(10_000)] + [{"name": deep}]
    with pytest.raises(RequestTooLarge, match="10001 files, more than the 1000"):
        parse_files(hostile, max_files=1000)
    with pytest.raises(FileError, match="2048 levels deep, more than the 64"):
        parse_files(hostile, max_files=20_000, max_depth=64)
    with pytest.raises(RequestTooLarge, match=r"\d+ bytes or more, more than the 100000"):
        parse_files(hostile, max_files=20_000, max_bytes=100_000)
    with pytest.raises(FileError, match="also a directory"):  # and it still holds
        parse_files([{"name": "a"}, {"name": "a/b"}], max_files=10, max_depth=64)


def test_stdin() -> None:
    assert parse_stdin(None) is None
    assert parse_stdin("é") == "é".encode()
    assert parse_stdin(b"\0") == b"\0"
    with pytest.raises(TypeError, match="stdin must be bytes or str, not int"):
        parse_stdin(3)


def test_command_must_be_a_string() -> None:
    assert parse_command("ls") == "ls"
    with pytest.raises(TypeError, match="command must be a str"):
        parse_command(["ls"])
