"""Storage errors: the boundary translates driver errors into these (raised `from exc`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError


class StorageError(Exception):
    """A database operation failed."""


class DatabaseUnavailable(StorageError):
    """The database cannot be opened (down, refused, a wrong password, no such database or file): one line.

    ``url`` is shown with its password hidden (storage.engine.safe_url), so the message can be printed and logged.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot open the database {url}: {reason}")


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
