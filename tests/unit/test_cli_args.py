"""hc-realtime's command line: bad flags fail with a clear message, and the clients stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from healthcoach_realtime.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dev", "--port", "0"], "port must be between 1 and 65534"),
        (["dev", "--port", "http"], "not a port number"),
        (["dev", "--idle-timeout", "-1"], "must be greater than 0"),
        (["dev", "--visibility-timeout", "1.5"], "whole number"),
        (["dev", "--bus-reorder-max", "-1"], "must be 0 or more"),
        (["dev", "--bus-fifo-jitter", "soon"], "not a number"),
        (["emit", "foodLogCreated", "--user", "u", "--data", "{nope"], "not valid JSON"),
        (["emit", "foodLogCreated", "--user", "u", "--data", "[1]"], "must be a JSON object"),
        (["emit", "pizzaOrdered", "--user", "u"], "invalid choice"),
        (["token"], "--user"),
        (["token", "--user", "u", "--expires-in", "0"], "must be greater than 0"),
        (["token", "--user", "u", "--expires-in", "2.5"], "whole number"),
        (["token", "--user", "u", "--expires-in", "86401"], "at most 86400 seconds"),
        (["disconnect"], "--user"),
        (["dev", "--session-sweep", "0"], "must be greater than 0"),
    ],
)
def test_bad_usage_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse refuses the command line, naming what is wrong."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_client_commands_import_neither_moto_nor_aiohttp() -> None:
    """Importing the CLI (all token and emit need) leaves moto, aiohttp and boto3 unloaded."""
    probe = (
        "import sys, healthcoach_realtime.cli; "
        "print(sorted(m for m in ('moto', 'aiohttp', 'boto3') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"
