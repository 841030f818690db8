"""The database engine and sessions: SQLite (WAL) by default, PostgreSQL through a URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine tuned for Kotha's workload on SQLite or PostgreSQL."""
    parsed = make_url(url)
    # Errors and logs must never quote what people wrote or their numbers: SQLAlchemy puts
    # statement parameters into exception messages unless told not to.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip on every request. A connection the server
        # dropped fails its statement once (a webhook answers 503 and the provider retries)
        # and SQLAlchemy then renews the whole pool; recycling keeps them from going stale.
        kwargs.setdefault("pool_recycle", 1800)
        return create_engine(url, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so we can BEGIN IMMEDIATE:
        # a writer then waits for the lock up front (busy_timeout) instead of failing with
        # "database is locked" when it upgrades from reading to writing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode; only a power cut can
        # lose the last transactions, which is the usual trade for an embedded deployment.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten content is zeroed in the file, not left in free pages
        # and free space where a file viewer could read it: an erased person's words must
        # be gone from the disk (bot/casework/erasure.py), not merely unlinked.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Transaction:
    """Core statements on `connection`; `session` for ORM objects, in the same transaction.

    Hot paths pay nothing for the session unless they use it: it is made on first use, and
    what it holds is flushed before the commit.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


# The autocommit pool serves short single statements (a webhook's INSERT): two connections
# kept per process, a few more while a threaded server is busy.
SINGLE_POOL_SIZE = 2
SINGLE_POOL_OVERFLOW = 8


class Database:
    """One engine and its session factory; `session()` is a transaction committed on success."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # One statement that is atomic by itself needs no BEGIN and COMMIT round trips on
        # PostgreSQL. Its connections stay in autocommit in a small pool of their own:
        # switching a shared connection's isolation level costs calls at every checkout and
        # return (about a quarter of a webhook's database time). SQLite keeps its
        # transaction: there it is what takes the write lock.
        self._single = (
            make_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_size=SINGLE_POOL_SIZE,
                max_overflow=SINGLE_POOL_OVERFLOW,
                **engine_kwargs,
            )
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def single_statement(self) -> Iterator[Connection]:
        """A connection for one statement that needs no transaction around it (autocommit)."""
        with self._single.begin() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction on one connection, committed on success (see Transaction)."""
        with self.engine.begin() as connection:
            transaction = Transaction(connection)
            try:
                yield transaction
                transaction.flush()
            finally:
                transaction.close()

    def driver_statement(self, statement: Executable) -> DriverStatement:
        """`statement`, compiled once, to run through the driver on the autocommit pool."""
        return DriverStatement(self._single, statement)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._single is not self.engine:
            self._single.dispose()


_NEEDED = object()  # a bind with no constant of its own: its value must be given


class DriverStatement:
    """A Core statement compiled once, run on the driver's own cursor: for the hottest path.

    `Connection.execute` spends about 0.1 ms of CPU per call on its own machinery (the
    connection wrapper, execution context and result), as much as psycopg's work for a
    one-row INSERT; a webhook's store pays it at every request (bench/README). Here the
    statement, its column types and the pool stay SQLAlchemy's: each value goes through the
    bind processor of its type, as `Connection.execute` would send it, and a driver error
    is raised as SQLAlchemy's own exception, its parameters hidden.
    """

    def __init__(self, engine: Engine, statement: Executable) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if self._compiled.insert_prefetch or self._compiled.update_prefetch:
            # Core computes those just before each execution; this path would send NULL.
            raise ValueError("give a value for every column with a Python-side default")
        self.sql: str = self._compiled.string
        escaped = self._compiled.escaped_bind_names
        self._processors = {
            escaped.get(name, name): processor
            for bind, name in self._compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        # The driver's parameters are built straight from the values, in the order the SQL
        # takes them (SQLite) or by name (PostgreSQL): SQLAlchemy's construct_params costs
        # more than the row. Each bind takes the value given under its key, or the constant
        # it carries (the 1 of `version + 1`); a bind computed at execution time (or expanded into
        # the SQL), or one with neither, leaves it to construct_params, which knows every default.
        by_name = {
            escaped.get(name, name): bind for bind, name in self._compiled.bind_names.items()
        }
        names = (self._compiled.positiontup if self._compiled.positional else list(by_name)) or []
        self._order: list[tuple[str, str, Any, Any]] | None = [
            (
                name,
                by_name[name].key,
                _NEEDED if by_name[name].required else by_name[name].value,
                self._processors.get(name),
            )
            for name in names
        ]
        if any(
            bind.callable is not None or bind.expanding or bind.literal_execute
            for bind in by_name.values()
        ):
            self._order = None
        # For a SELECT: each result column's processor, as a Result would apply it.
        description = getattr(self._compiled, "_result_columns", None) or []
        self._results = [
            column[3].dialect_impl(dialect).result_processor(dialect, None)
            for column in description
        ]

    def first(self, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run the statement with `values` on a pooled connection; return its first row.

        The row is as the driver returns it, without result processing: for plain columns.
        """
        row, _ = self._on_pooled(values)
        return row

    def write(self, values: dict[str, Any]) -> int:
        """Run a statement that returns no rows on a pooled connection; return its rowcount."""
        _, count = self._on_pooled(values)
        return count

    def _on_pooled(self, values: dict[str, Any]) -> tuple[tuple[Any, ...] | None, int]:
        """Execute on a connection of the pool, by itself: its own transaction, committed.

        PostgreSQL's pool here is in autocommit; SQLite's connections leave transactions to
        us (storage/db.py make_engine), so one statement commits alone there too.
        """
        parameters = self._parameters(values)
        pooled = self._engine.raw_connection()
        driver: Any = pooled.driver_connection
        try:
            cursor = driver.execute(self.sql, parameters)
            # Read before the connection goes back to the pool.
            row = cursor.fetchone() if cursor.description else None
            return row, int(cursor.rowcount)
        except self._engine.dialect.loaded_dbapi.Error as error:
            # The connection may be broken: the pool makes a new one rather than reuse it.
            pooled.invalidate()
            raise self._error(parameters, error) from error
        finally:
            pooled.close()

    def run(self, connection: Connection, values: dict[str, Any]) -> tuple[int, int | None]:
        """Run the statement in `connection`'s transaction; return (rowcount, lastrowid).

        For a statement that returns no rows (an INSERT on SQLite, where RETURNING costs
        more than the row). The caller's transaction rolls back on the error raised.
        """
        parameters = self._parameters(values)
        driver: Any = connection.connection.driver_connection
        try:
            cursor = driver.execute(self.sql, parameters)
        except self._engine.dialect.loaded_dbapi.Error as error:
            raise self._error(parameters, error) from error
        return cursor.rowcount, getattr(cursor, "lastrowid", None)  # psycopg has none

    def one(self, connection: Connection, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run a SELECT in `connection`'s transaction; its first row, each value through its
        column type's result processor (as SQLAlchemy would give it), or None."""
        parameters = self._parameters(values)
        driver: Any = connection.connection.driver_connection
        try:
            row = driver.execute(self.sql, parameters).fetchone()
        except self._engine.dialect.loaded_dbapi.Error as error:
            raise self._error(parameters, error) from error
        return None if row is None else self._processed(row)

    def returning(
        self, connection: Connection, rows: list[dict[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """Run an INSERT ... RETURNING once per row in `connection`'s transaction; every row
        it returned, in order, each value through its column type's result processor.

        For PostgreSQL: psycopg sends the rows in one pipeline, one round trip, and the
        statement, prepared once, is not parsed again however many rows there are.
        """
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        parameters = [self._parameters(values) for values in rows]
        try:
            cursor.executemany(self.sql, parameters, returning=True)
            returned = []
            while True:
                returned.extend(cursor.fetchall())
                if not cursor.nextset():
                    break
        except self._engine.dialect.loaded_dbapi.Error as error:
            raise self._error(parameters, error) from error
        finally:
            cursor.close()
        return [self._processed(row) for row in returned]

    def _processed(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, self._results, strict=True)
        )

    def _parameters(self, values: dict[str, Any]) -> Any:
        """The values as the driver takes them, each through its column type's processor."""
        if self._order is not None:
            built = []
            for name, key, constant, processor in self._order:
                value = values.get(key, constant)
                if value is _NEEDED:
                    break  # a value left out: SQLAlchemy's way, which knows the defaults
                built.append((name, value if processor is None else processor(value)))
            else:
                if self._compiled.positional:  # SQLite's qmark style
                    return [value for _, value in built]
                return dict(built)
        named = self._compiled.construct_params(values)
        for name, processor in self._processors.items():
            named[name] = processor(named[name])
        if self._compiled.positional:
            return [named[name] for name in self._compiled.positiontup]
        return named

    def _error(self, parameters: Any, error: Exception) -> exc.StatementError:
        """The driver's error as SQLAlchemy raises it (IntegrityError...), parameters hidden."""
        return exc.DBAPIError.instance(
            self.sql,
            parameters,
            error,
            self._engine.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=self._engine.dialect,
        )
