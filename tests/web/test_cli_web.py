"""`rollcall user add`, `rollcall token create` and `rollcall serve --help`."""

from __future__ import annotations

from rollcall.config import Settings
from rollcall.storage.accounts import authenticate, user_for_token
from rollcall.storage.db import Database


def test_user_add_and_token_create(cli, home) -> None:
    result = cli(
        "user", "add", "ada", "--role", "admin", "--password-stdin", input="long enough pw\n"
    )
    assert result.exit_code == 0, result.output
    result = cli("token", "create", "ada")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    db = Database(Settings.from_env())
    with db.session() as s:
        assert authenticate(s, "ada", "long enough pw").role == "admin"
        assert user_for_token(s, token).name == "ada"
    assert "ada\tadmin\tactive" in cli("user", "list").output


def test_user_add_prompts_for_the_password(cli) -> None:
    result = cli(
        "user", "add", "ivy", "--role", "instructor", input="long enough pw\nlong enough pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created instructor ivy" in result.output


def test_user_add_refuses_short_passwords_and_duplicates(cli) -> None:
    result = cli("user", "add", "ada", "--role", "admin", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    cli("user", "add", "ada", "--role", "admin", "--password-stdin", input="long enough pw\n")
    result = cli(
        "user", "add", "ada", "--role", "admin", "--password-stdin", input="long enough pw\n"
    )
    assert result.exit_code == 1 and "already exists" in result.output


def test_token_for_unknown_user(cli) -> None:
    result = cli("token", "create", "nobody")
    assert result.exit_code == 1 and "no user named" in result.output


def test_serve_help(cli) -> None:
    result = cli("serve", "--help")
    assert result.exit_code == 0 and "--port" in result.output and "waitress" in result.output


def test_serve_on_a_port_in_use_says_so_in_one_line(cli) -> None:  # noqa: ANN001
    """It printed a whole traceback ending in "OSError: [Errno 98]" (an entrance operator)."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        result = cli("serve", "--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
    finally:
        taken.close()
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in result.output
    assert "Traceback" not in result.output
