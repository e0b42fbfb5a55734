"""Fixtures for the hardening tier: load on the real local stack, faults on loopback servers.

Tests here push the product past the happy path (many sockets, thousands of events, servers
that throttle, fail or reset) and assert that no event is lost. Fixtures are added below as
the tests need them; other helpers may append small fixtures at the end.
"""

from __future__ import annotations
