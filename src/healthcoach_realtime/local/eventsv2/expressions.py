"""``{% ... %}`` values: a subscriber parameter that is a literal or one JSONata expression.

EventsV2 takes a target parameter such as ``SqsParameters.MessageGroupId`` either as a literal
or as one whole ``{% <JSONata> %}`` expression evaluated per event with ``$events`` bound to
the delivered events (one here: SQS gets one event per message), e.g.
``{% $events.SystemMetadata.EventGroupId %}``. A value that mixes text and ``{% %}`` is refused
(not emulated). Compiled expressions are cached by text; each evaluation of one compiled
expression holds that expression's lock (jsonata-python keeps per-call state on the instance).
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.local.eventsv2.exceptions import InvalidInputError

_RECURSION_LIMIT = sys.getrecursionlimit()
import jsonata  # noqa: E402

# jsonata-python raises the interpreter's recursion limit to 10,000 on import, for the whole
# process. The local stack parses untrusted JSON (a 5,000-deep frame must stay a RecursionError,
# not a parse, nor a C stack overflow deeper down): put the limit back.
sys.setrecursionlimit(_RECURSION_LIMIT)

__all__ = ["Expression", "Literal", "TemplateValue", "compile_expression", "compile_value", "evaluate"]

_WHOLE = re.compile(r"\{%([\s\S]+?)%\}")


class Expression:
    """A compiled JSONata expression, evaluated against one event at a time."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._compiled = jsonata.Jsonata(source)
        except Exception as exc:
            raise InvalidInputError(f"Invalid JSONata expression {source.strip()!r}: {exc}") from None
        self._lock = threading.Lock()

    def evaluate(self, event: Mapping[str, Any]) -> Any:
        """The expression's value with ``$events`` = ``[event]``; raises on an evaluation error."""
        with self._lock:
            return self._compiled.evaluate(None, {"events": [event]})


@dataclass(frozen=True, slots=True)
class Literal:
    """A parameter given as plain text."""

    value: str


TemplateValue = Literal | Expression


def compile_value(text: str, where: str) -> TemplateValue:
    """A parameter's value: ``Literal`` or, for one whole ``{% %}``, its ``Expression``."""
    match = _WHOLE.fullmatch(text.strip())
    if match is not None:
        return compile_expression(match.group(1))
    if "{%" in text:
        raise InvalidInputError(f"{where}: give a literal or one whole {{% ... %}} expression")
    return Literal(text)


@functools.lru_cache(maxsize=512)
def compile_expression(source: str) -> Expression:
    """The compiled expression for ``source`` (cached: subscribers share them)."""
    return Expression(source)


def evaluate(value: TemplateValue, event: Mapping[str, Any]) -> Any:
    """A literal's text, or the expression's value for ``event``."""
    if isinstance(value, Literal):
        return value.value
    return value.evaluate(event)
