"""Reading the end of a log without reading the whole file (logs reach hundreds of MB)."""

from __future__ import annotations

import os
from pathlib import Path

BLOCK = 64 * 1024


def read_last_lines(path: str | os.PathLike[str], count: int) -> tuple[bytes, int]:
    """The last `count` lines as bytes, and the file size they end at (to follow on from)."""
    try:
        fd = os.open(Path(path), os.O_RDONLY)
    except FileNotFoundError:
        return b"", 0
    try:
        size = os.fstat(fd).st_size
        if count <= 0:
            return b"", size
        pos, data = size, b""
        # One more newline than lines wanted, unless the file ends without one.
        while pos > 0 and data.count(b"\n") <= count:
            step = min(BLOCK, pos)
            pos -= step
            data = os.pread(fd, step, pos) + data
        body = data[:-1] if data.endswith(b"\n") else data
        parts = body.split(b"\n")
        tail = b"\n".join(parts[-count:])
        if data.endswith(b"\n"):
            tail += b"\n"
        return tail, size
    finally:
        os.close(fd)
