"""Support for the append-only triggers of migration 0002 on SQLite.

On PostgreSQL the triggers refuse every row UPDATE/DELETE of ledger rows, and Django's test flush uses TRUNCATE
(which row triggers do not see). On SQLite the flush is ``DELETE FROM``, which *would* fire the triggers and break
every transactional test of every app once a ledger row exists. So the SQLite DELETE triggers ask a function,
``billing_flush_in_progress()``, that this module registers on every SQLite connection: it answers 1 only while
Django's own flush (``manage.py flush``, the test runner) is running in this thread. Any other DELETE is refused,
and so is everything done from a connection that lacks the function (the sqlite3 shell): "no such function".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db.backends.signals import connection_created

_state = threading.local()


def _flush_in_progress() -> int:
    return 1 if getattr(_state, "flushing", False) else 0


def _register_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("billing_flush_in_progress", 0, _flush_in_progress)


def install() -> None:
    from django.db.backends.sqlite3 import base as sqlite_base  # import order: base imports operations
    from django.db.backends.sqlite3.operations import DatabaseOperations

    if sqlite_base.DatabaseWrapper.ops_class is not DatabaseOperations:  # Django changed; the triggers then refuse
        return
    connection_created.connect(_register_function, dispatch_uid="billing.dbguard")
    original: Callable[..., Any] = DatabaseOperations.execute_sql_flush
    if getattr(original, "_billing_guarded", False):
        return

    def execute_sql_flush(self: Any, sql_list: Any) -> Any:
        _state.flushing = True
        try:
            return original(self, sql_list)
        finally:
            _state.flushing = False

    execute_sql_flush._billing_guarded = True  # type: ignore[attr-defined]
    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
