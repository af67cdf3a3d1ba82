"""Results as plain JSON, for readers without kombu: bytes become text, losslessly.

Each bytes value KEY becomes text, with KEY_encoding beside it: "utf-8" when the bytes
are valid UTF-8, else "base64". The CLI's --json output and webhooks use it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def encode_output(data: bytes) -> tuple[str, str]:
    """Bytes for JSON: (text, "utf-8") when valid UTF-8, else (base64, "base64")."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def jsonable(value: Any) -> Any:
    """`value` with every bytes item KEY replaced by text plus KEY_encoding (utf-8/base64)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, bytes | bytearray):
                out[key], out[f"{key}_encoding"] = encode_output(bytes(item))
            else:
                out[key] = jsonable(item)
        return out
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
