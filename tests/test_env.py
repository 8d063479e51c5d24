import pytest
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_bool, env_int, env_list, parse_database_url


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_env_bool_reads_the_usual_spellings(raw: str, expected: bool) -> None:
    assert env_bool("X", environ={"X": raw}) is expected


def test_env_bool_refuses_anything_else_loudly() -> None:
    with pytest.raises(ImproperlyConfigured, match="X='maybe' is not a boolean"):
        env_bool("X", environ={"X": "maybe"})


def test_env_int_defaults_parses_and_checks_bounds() -> None:
    assert env_int("N", 7, environ={}) == 7
    assert env_int("N", 7, environ={"N": "12"}) == 12
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 7, environ={"N": "12s"})
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        env_int("N", 7, min_value=1, environ={"N": "0"})


def test_env_list_splits_and_trims() -> None:
    assert env_list("H", environ={"H": " a.com, b.com ,,"}) == ["a.com", "b.com"]
    assert env_list("H", ["x"], environ={}) == ["x"]


def test_parse_database_url_postgres_with_options() -> None:
    config = parse_database_url("postgres://user:p%40ss@db.internal:6543/studio?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "user",
        "p@ss",
        "db.internal",
        "6543",
        "studio",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_parse_database_url_sqlite_and_unknown_scheme() -> None:
    assert parse_database_url("sqlite:////srv/db/x.sqlite3")["NAME"] == "/srv/db/x.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        parse_database_url("mysql://root@localhost/db")
