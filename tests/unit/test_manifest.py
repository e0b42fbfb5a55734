"""The function manifest: checked on import, the source of DESIGN.md's settings paragraph, each
handler's cold-start check and the local stack's per-function configuration."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.greeter import GREETER

from healthcoach_realtime import manifest
from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.local.stack import (
    DEFAULTED_SETTINGS,
    StackStartError,
    function_config,
    function_environment,
)
from healthcoach_realtime.manifest import FunctionEntry, Route
from healthcoach_realtime.settings import ENVIRONMENT_VARIABLES

REPO = Path(__file__).resolve().parents[2]


def _design_paragraph() -> dict[str, set[str]]:
    """DESIGN.md's "Which function reads what": function -> the variables listed for it."""
    text = (REPO / "DESIGN.md").read_text()
    match = re.search(r"Which function reads what[^:]*: (.*?)\n\n", text, re.S)
    assert match is not None
    listed: dict[str, set[str]] = {}
    for part in match.group(1).split(";"):
        name = re.match(r"\s*`?([a-z_ ]+?)(\(\)`)?\s*(\(|`)", part)
        assert name is not None, part
        listed[name.group(1).replace(" ", "_")] = set(re.findall(r"`([A-Z_]+)`", part))
    return listed


def test_design_md_lists_what_each_function_reads() -> None:
    """The paragraph names, per function, exactly the manifest's settings (and emit()'s)."""
    listed = _design_paragraph()
    assert listed.pop("emit") == {"EVENT_BUS_ARN", "EVENT_BUS_NAME"}
    assert listed == {entry.name: set(entry.settings) for entry in manifest.FUNCTIONS}


def test_every_function_has_a_handler_and_reads_only_known_settings() -> None:
    """One handler per entry, and no setting outside settings.py's list."""
    for entry in manifest.FUNCTIONS:
        assert (REPO / "functions" / entry.name / "handler.py").is_file()
        assert set(entry.settings) <= set(ENVIRONMENT_VARIABLES)
    assert {p.parent.name for p in (REPO / "functions").glob("*/handler.py")} == set(manifest.by_name())


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        (replace(GREETER, settings=("CONNECTIONS_TABLE", "GREETING")), "unknown settings: GREETING"),
        (replace(GREETER, settings=("CONNECTIONS_TABLE",), required=()), "without reading WS_API_ENDPOINT"),
        (replace(GREETER, required=("HISTORY_TABLE",)), "requires settings it does not read"),
        (replace(GREETER, trigger=Route("$connect")), "route keys repeat"),
        (replace(GREETER, name="connect", trigger=Route("other")), "function names repeat"),
    ],
)
def test_a_manifest_the_stacks_could_not_build_is_refused(entry: FunctionEntry, complaint: str) -> None:
    """An unknown setting, a poster without the endpoint, a repeated name or route fail early."""
    with pytest.raises(ConfigurationError, match=complaint):
        manifest.validate((*manifest.FUNCTIONS, entry))


def test_require_settings_names_each_missing_one() -> None:
    """The dispatcher's cold-start check names both required settings when both are unset."""
    with pytest.raises(ConfigurationError, match=r"dispatcher: .*WS_API_ENDPOINT, DEAD_LETTER_QUEUE_URL"):
        manifest.require_settings("dispatcher", {"WS_API_ENDPOINT": ""})
    manifest.require_settings("dispatcher", {"WS_API_ENDPOINT": "https://x", "DEAD_LETTER_QUEUE_URL": "q"})


PROVIDED = {name: f"value-of-{name}" for name in ENVIRONMENT_VARIABLES if name not in DEFAULTED_SETTINGS}
BASE = {"PATH": "/usr/bin", "AWS_REGION": "us-east-1", "CONNECTIONS_TABLE": "from-the-shell"}


@pytest.mark.parametrize("entry", manifest.FUNCTIONS, ids=lambda e: e.name)
def test_each_local_function_gets_only_the_settings_it_reads(entry: FunctionEntry) -> None:
    """Not one union: a setting reaches a local function only if its entry reads it."""
    env = function_environment(entry, PROVIDED, BASE)
    given = {name for name in env if name in ENVIRONMENT_VARIABLES}
    assert given == set(entry.settings) - DEFAULTED_SETTINGS
    assert (env["PATH"], env["AWS_REGION"]) == ("/usr/bin", "us-east-1")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == str(entry.memory_mb)


def test_the_stream_bridge_does_not_see_the_connections_table() -> None:
    """Even when the shell sets it: the bridge reads no connections table."""
    env = function_environment(manifest.by_name()["stream_bridge"], PROVIDED, BASE)
    assert "CONNECTIONS_TABLE" not in env


def test_a_seventh_function_is_one_entry_for_the_local_stack() -> None:
    """Its route, limits and environment follow from its entry alone."""
    entries = (*manifest.FUNCTIONS, GREETER)
    manifest.validate(entries)
    assert manifest.routes(entries)["greet"] == "greeter"
    assert manifest.posters(entries)["greeter"] == ("POST",)
    config = function_config(GREETER, lambda_concurrency=10)
    assert (config.timeout_seconds, config.memory_mb, config.concurrency) == (5, 128, 10)
    env = function_environment(GREETER, PROVIDED, BASE)
    assert {n for n in env if n in ENVIRONMENT_VARIABLES} == {"CONNECTIONS_TABLE", "WS_API_ENDPOINT"}


def test_a_setting_the_local_stack_cannot_provide_stops_it() -> None:
    """Named, at start-up, rather than a handler failing later."""
    with pytest.raises(StackStartError, match="DEAD_LETTER_QUEUE_URL, read by greeter"):
        function_environment(
            replace(GREETER, settings=(*GREETER.settings, "DEAD_LETTER_QUEUE_URL")),
            {k: v for k, v in PROVIDED.items() if k != "DEAD_LETTER_QUEUE_URL"},
            BASE,
        )


def test_the_dispatcher_runs_at_most_its_deployed_concurrency() -> None:
    """--lambda-concurrency above the event source's maximum is capped to it."""
    dispatcher = manifest.by_name()["dispatcher"]
    assert dispatcher.max_concurrency is not None
    assert function_config(dispatcher, lambda_concurrency=50).concurrency == dispatcher.max_concurrency
    assert function_config(dispatcher, lambda_concurrency=2).concurrency == 2
