"""Hardening tier: the product under load and under injected faults, on real loopback servers."""
