"""argparse ``type=`` checks shared by the command-line tools (``hc-realtime``, the smoke test):
a bad value is refused with a one-line reason naming it."""

from __future__ import annotations

import argparse

__all__ = ["non_negative_float", "positive_float", "positive_int"]


def positive_float(text: str) -> float:
    """A number greater than 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


def non_negative_float(text: str) -> float:
    """A number of 0 or more."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number greater than 0 (``5`` or ``5.0``)."""
    value = positive_float(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text}")
    return int(value)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
