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


def test_env_float_parses_and_refuses_loudly() -> None:
    from studio.env import env_float

    assert env_float("F", 1.5, environ={}) == 1.5
    assert env_float("F", 1.5, environ={"F": "2.25"}) == 2.25
    with pytest.raises(ImproperlyConfigured, match="F='fast' is not a number"):
        env_float("F", 1.5, environ={"F": "fast"})


def _settings_in_a_fresh_interpreter(tmp_path, code: str, **env: str):  # type: ignore[no-untyped-def]
    """Import studio.settings (not tests.settings) with exactly ``env`` on top of a minimal environment."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    base.update(DJANGO_SETTINGS_MODULE="studio.settings", STUDIO_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=root,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_unless_debug(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refused = _settings_in_a_fresh_interpreter(tmp_path, "print(settings.SECRET_KEY)")
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
    dev = _settings_in_a_fresh_interpreter(tmp_path, "print(settings.SECRET_KEY)", DEBUG="1")
    assert dev.returncode == 0 and dev.stdout.strip().startswith("dev-only")


def test_a_malformed_env_value_stops_startup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _settings_in_a_fresh_interpreter(tmp_path, "print(settings.DEBUG)", SECRET_KEY="k", DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_email_is_console_by_default_and_smtp_when_email_host_is_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    show = "print(settings.EMAIL_BACKEND, getattr(settings, 'EMAIL_HOST', ''), getattr(settings, 'EMAIL_PORT', ''))"
    console = _settings_in_a_fresh_interpreter(tmp_path, show, SECRET_KEY="k")
    assert console.returncode == 0, console.stderr
    assert console.stdout.split()[0] == "studio.mail.LocalConsoleEmailBackend"  # the console backend, links framed
    smtp = _settings_in_a_fresh_interpreter(
        tmp_path, show, SECRET_KEY="k", EMAIL_HOST="smtp.example.com", EMAIL_PORT="2525"
    )
    assert smtp.returncode == 0, smtp.stderr
    assert smtp.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "2525"]
