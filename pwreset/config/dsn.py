"""PostgreSQL connection strings (`storage.dsn`): checked when the configuration loads, and
shown in logs and errors. A DSN never holds the password (`storage.password_env` or
`storage.password_file` do), so it may be printed as it is; `shown_dsn` prints less."""

from __future__ import annotations

_FORM = (
    "write postgresql://USER@HOST:PORT/DATABASE (options such as ?sslmode=verify-full "
    "after it) or key=value pairs (host=... port=... dbname=... user=...)"
)


def check_dsn(dsn: str) -> str:
    """`dsn` if libpq can read it and it holds no password; ValueError saying why otherwise.
    The reason never repeats the string: a mistyped one may hold a password."""
    options = _options(dsn)
    if "password" in options:
        raise ValueError(
            "the connection string holds a password: remove it and set storage.password_env "
            "or storage.password_file, so that the password never reaches a log or an error"
        )
    if not options.get("dbname") and not dsn.strip().startswith(("postgresql://", "postgres://")):
        raise ValueError(f"the connection string names no database (dbname); {_FORM}")
    return dsn


def shown_dsn(dsn: str) -> str:
    """USER@HOST:PORT/DATABASE, for logs and errors."""
    options = _options(dsn)
    user = options.get("user", "")
    host = options.get("host") or options.get("hostaddr") or "localhost"
    port = options.get("port") or "5432"
    where = f"{host}:{port}/{options.get('dbname', '')}"
    return f"{user}@{where}" if user else where


def _options(dsn: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ValueError(
            "storage.backend = \"postgresql\" needs psycopg: pip install 'pwreset[postgres]'"
        ) from None
    from psycopg import Error

    if not dsn.strip():
        raise ValueError(f"empty; {_FORM}")
    try:
        return {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    except Error:
        raise ValueError(f"not a PostgreSQL connection string; {_FORM}") from None
