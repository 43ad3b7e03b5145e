"""Warnings that point at the caller's line, however deep in rerankit they are given.

A fixed `stacklevel` is right for one path only: `rerankit.rerank` adds a frame over
`Client.rerank`, an awaited coroutine another, a fallback's `_meta` one more. `warn` walks
out of rerankit's own files instead, so the warning names the first line outside the
package: the user's call (or a plugin's, for a plugin that calls rerankit).
"""

from __future__ import annotations

import os
import sys
import warnings

from .errors import RerankitWarning

__all__ = ["warn", "caller_stacklevel"]

#: Every file of the core package lies under this directory.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def caller_stacklevel(skip: tuple[str, ...] = ()) -> int:
    """The `stacklevel` of the first frame outside rerankit (and `skip`), seen from `warn`.

    `skip` adds directories to walk out of too (pydantic's, for a model's own hook).
    """
    inside = (_PACKAGE_DIR, *skip)
    # Level 1 is `warn` itself (frame 1 from here), level 2 its caller (frame 2), ...
    frame = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn(
    message: str, category: type[Warning] = RerankitWarning, skip: tuple[str, ...] = ()
) -> None:
    """Give a warning (a `RerankitWarning` unless told) attributed to the caller's line.

    That is the first line outside rerankit (and `skip`). Only on the warning's path:
    walking the stack costs a few microseconds per frame.
    """
    warnings.warn(message, category, stacklevel=caller_stacklevel(skip))
