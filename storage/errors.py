"""Storage errors: the boundary translates driver errors into these (raised `from exc`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError


class StorageError(Exception):
    """A database operation failed."""


class NotFound(StorageError):
    """`get_x()` found nothing."""


class Conflict(StorageError):
    """A uniqueness or integrity rule was violated."""


@contextmanager
def as_conflict(what: str) -> Iterator[None]:
    """Writes inside this block that break a unique or foreign key raise `Conflict(what)` from the driver's error.

    The transaction is spoiled either way: the caller's `sessionmaker.begin()` block rolls it back.
    """
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(what) from exc
