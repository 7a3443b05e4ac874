"""Storage errors: the boundary translates driver errors into these (raised `from exc`)."""

from __future__ import annotations


class StorageError(Exception):
    """A database operation failed."""


class NotFound(StorageError):
    """`get_x()` found nothing."""


class Conflict(StorageError):
    """A uniqueness or integrity rule was violated."""
