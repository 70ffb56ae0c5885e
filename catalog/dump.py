"""The whole catalog as a portable JSON Lines dump, as ``flask export`` and ``flask import`` use it.

The first line is a header naming the format, its version, the schema revision it
came from and how many rows of each table follow; then one line per row,
``{"table": name, "row": {column: value}}``, parents before children, timestamps
in ISO 8601 with their UTC offset, bytes (the pictures' files) in base64. Ids,
ownership, timestamps and pictures travel as they are, so a catalog moves from
SQLite to PostgreSQL (or back) unchanged, every picture byte for byte.
"""

import base64
import binascii
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO, cast

import click
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    LargeBinary,
    Table,
    TypeDecorator,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from catalog.extensions import db
from catalog.models import CatalogState, recount_items, utcnow

FORMAT = "catalog-dump"
VERSION = 1
BATCH_SIZE = 1_000
# Rows of a table with bytes in it (pictures' files, up to a few megabytes each) read and
# written at a time: a batch of them stays within tens of megabytes.
BINARY_BATCH_SIZE = 10

Progress = Callable[[int], None]


class DumpError(click.ClickException):
    """A dump that cannot be read or loaded; nothing was changed."""


def tables() -> list[Table]:
    """Return every table a dump holds, each after the tables it refers to.

    The change marker is not part of the catalog: a load moves it by itself.
    """
    return [t for t in db.metadata.sorted_tables if t.name != CatalogState.__tablename__]


def _is_binary(column: Column[Any]) -> bool:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, LargeBinary)


def batch_size(table: Table) -> int:
    """Return how many rows of ``table`` to hold at a time."""
    return BINARY_BATCH_SIZE if any(_is_binary(c) for c in table.columns) else BATCH_SIZE


# Export


@contextmanager
def snapshot() -> Iterator[Connection]:
    """Yield a connection that reads the whole database as of one moment.

    On PostgreSQL that is a read-only REPEATABLE READ transaction: rows committed
    by others while the export runs stay out of it, so counts and rows agree.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            if connection.dialect.name == "sqlite":
                # Transactions begin only before writes (catalog.extensions); a reader
                # that needs one snapshot asks for one.
                connection.exec_driver_sql("BEGIN")
            yield connection


def header(connection: Connection) -> dict[str, Any]:
    """Describe the dump about to be written: format, source and row counts."""
    revisions = MigrationContext.configure(connection).get_current_heads()
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": utcnow().isoformat(),
        "database": connection.dialect.name,
        "revision": ",".join(sorted(revisions)),
        "tables": {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in tables()
        },
    }


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write a {type(value).__name__} to a dump")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_encode) + "\n"


def write_dump(
    connection: Connection, out: TextIO, head: dict[str, Any], progress: Progress | None = None
) -> None:
    """Write ``head`` and then every row, table by table, in primary key order."""
    out.write(_line(head))
    for table in tables():
        result = connection.execution_options(yield_per=batch_size(table)).execute(
            select(table).order_by(*table.primary_key.columns)
        )
        for rows in result.mappings().partitions():
            out.writelines(_line({"table": table.name, "row": dict(row)}) for row in rows)
            if progress is not None:
                progress(len(rows))


@contextmanager
def replaced_atomically(path: str) -> Iterator[TextIO]:
    """Open ``path`` for writing; it appears only once complete (``-``: standard output)."""
    if path == "-":
        with click.open_file("-", "w", encoding="utf-8") as out:
            yield cast(TextIO, out)
        return
    # mkstemp makes the file readable by its owner only: a dump holds e-mail addresses.
    fd, temporary = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(path)), prefix=".export-", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# Import


def read_header(line: str) -> dict[str, Any]:
    """Parse and check a dump's first line; return it."""
    try:
        head = json.loads(line)
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise DumpError("this is not a Catalog dump (made by `flask export`)")
    if head.get("version") != VERSION:
        raise DumpError(
            f"this dump is format version {head.get('version')!r}; this Catalog reads "
            f"version {VERSION}: import it with the Catalog version that made it"
        )
    counts = head.get("tables")
    if not isinstance(counts, dict) or not all(
        isinstance(n, int) and n >= 0 for n in counts.values()
    ):
        raise DumpError("the dump's header has no valid table counts")
    unknown = sorted(set(counts) - {table.name for table in tables()})
    if unknown:
        raise DumpError(
            f"the dump holds tables this Catalog does not know ({', '.join(unknown)}): "
            "upgrade the code to the version that made it"
        )
    return head


def require_schema() -> None:
    """Refuse a database that lacks any of the tables a dump holds."""
    present = set(inspect(db.engine).get_table_names())
    missing = [table.name for table in tables() if table.name not in present]
    if missing:
        raise DumpError(f"the database lacks {', '.join(missing)}: run `flask db upgrade` first")


def check_target(replace: bool) -> None:
    """Refuse a database without the schema, or one holding data unless ``replace``."""
    require_schema()
    if replace:
        return
    held = {
        table.name: n
        for table in tables()
        if (n := db.session.scalar(select(func.count()).select_from(table)))
    }
    if held:
        listed = ", ".join(f"{n} {name}" for name, n in held.items())
        raise DumpError(
            f"the database already holds data ({listed}): import into an empty database, "
            "or pass --replace to delete what it holds first"
        )


def _bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None


def _decoders(table: Table) -> dict[str, Callable[[str], Any]]:
    decoders: dict[str, Callable[[str], Any]] = {}
    for column in table.columns:
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, DateTime):
            decoders[column.name] = datetime.fromisoformat
        elif isinstance(kind, LargeBinary):
            decoders[column.name] = _bytes
    return decoders


def _records(lines: Iterable[str], first_number: int) -> Iterator[tuple[Table, dict[str, Any]]]:
    """Yield each row line's table and decoded row; refuse malformed lines."""
    known = {table.name: table for table in tables()}
    decoders = {name: _decoders(table) for name, table in known.items()}
    for number, line in enumerate(lines, start=first_number):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            table = known[record["table"]]
            row = record["row"]
            if not isinstance(row, dict):
                raise TypeError("row is not an object")
            extra = set(row) - set(table.columns.keys())
            if extra:
                raise DumpError(f"line {number}: {table.name} has no column {sorted(extra)[0]}")
            for name, decode in decoders[table.name].items():
                if row.get(name) is not None:
                    row[name] = decode(row[name])
        except DumpError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise DumpError(f"line {number} is not a row of a Catalog dump ({exc!r})") from exc
        yield table, row


def reset_sequences() -> None:
    """Point PostgreSQL's id sequences past the highest imported id."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite picks max(id) + 1 by itself
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        highest = func.max(column)
        db.session.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, column.name),
                    func.coalesce(highest, 1),
                    highest.is_not(None),
                )
            )
        )


def load_rows(
    lines: Iterable[str],
    head: dict[str, Any],
    replace: bool = False,
    progress: Progress | None = None,
) -> Counter[str]:
    """Load the rows after ``head`` in one transaction: all of them, or none.

    With ``replace`` the tables are emptied first, in the same transaction.
    Returns how many rows each table received.
    """
    loaded: Counter[str] = Counter()
    batch: list[dict[str, Any]] = []
    current: Table | None = None

    def flush() -> None:
        if batch and current is not None:
            db.session.execute(insert(current), batch)
            loaded[current.name] += len(batch)
            if progress is not None:
                progress(len(batch))
            batch.clear()

    try:
        if replace:
            for table in reversed(tables()):
                db.session.execute(delete(table))
        for table, row in _records(lines, first_number=2):
            if table is not current or len(batch) >= batch_size(table):
                flush()
                current = table
            batch.append(row)
        flush()
        expected = Counter({name: n for name, n in head["tables"].items() if n})
        if loaded != expected:
            short = ", ".join(
                f"{name}: {loaded[name]} of {expected[name]}"
                for name in sorted(set(expected) | set(loaded))
                if loaded[name] != expected[name]
            )
            raise DumpError(f"the dump's rows do not match its header ({short}); is it complete?")
        recount_items(db.session)
        reset_sequences()
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DumpError(f"the database refused the dump: {reason}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return loaded
