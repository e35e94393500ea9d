"""Files are written whole or not at all (CLI outputs, the autotune cache): a temp file next to
the target, then a rename; the temp file is removed when either fails."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str, data: bytes) -> None:
    """Writes `data` to `path` so a failure never leaves a half-written file behind."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".localconv-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
