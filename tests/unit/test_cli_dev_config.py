"""``hc-realtime dev``'s flags reach the stack: each one sets the StackConfig field it names."""

from __future__ import annotations

from dataclasses import fields

from healthcoach_realtime.cli import _parser, _stack_config
from healthcoach_realtime.local.stack import StackConfig
from healthcoach_realtime.table_mapping import DEFAULT_SOURCES

# Not defaults, so a flag that set no field (or the wrong one) shows in the comparison.
FLAGS = [
    *("--port", "4000"),
    *("--idle-timeout", "11"),
    *("--max-lifetime", "12"),
    *("--visibility-timeout", "13"),
    *("--ttl-sweep", "14"),
    *("--ttl-lag", "15"),
    *("--session-sweep", "16"),
    *("--bus-reorder-max", "0.17"),
    *("--bus-fifo-jitter", "0.18"),
    *("--lambda-concurrency", "19"),
    *("--index-lag", "0.2"),
    "--no-disconnect-on-abort",
    "--verbose",
]


def test_each_dev_flag_sets_its_field() -> None:
    """Every value given on the command line is in the config; the data tables come as passed."""
    config = _stack_config(_parser().parse_args(["dev", *FLAGS]), DEFAULT_SOURCES[:1])
    assert config == StackConfig(
        port=4000,
        idle_timeout=11.0,
        max_lifetime=12.0,
        visibility_timeout=13,
        ttl_sweep_seconds=14.0,
        ttl_lag_seconds=15.0,
        session_sweep_seconds=16.0,
        bus_reorder_max_seconds=0.17,
        bus_fifo_jitter_seconds=0.18,
        lambda_concurrency=19,
        index_lag_seconds=0.2,
        disconnect_on_abort=False,
        verbose=True,
        data_tables=DEFAULT_SOURCES[:1],
    )


def test_defaults_are_the_stack_defaults() -> None:
    """``hc-realtime dev`` with no flags runs the stack StackConfig describes by default."""
    assert _stack_config(_parser().parse_args(["dev"]), DEFAULT_SOURCES) == StackConfig()


def test_every_dev_flag_names_a_field() -> None:
    """A new flag whose ``dest`` is no StackConfig field would be silently ignored."""
    given = set(vars(_parser().parse_args(["dev"]))) - {"command", "run", "data_tables_file"}
    assert given <= {field.name for field in fields(StackConfig)}
