#!/usr/bin/env python3
"""CDK entry point: ``make synth`` and ``npx aws-cdk deploy`` (via ``cdk.json``) both run this.

Configuration comes from CDK context or the environment (see ``infra/README.md``); what is
missing is named in one error, before anything is built.
"""

from __future__ import annotations

import sys

from healthcoach_infra.application import build_app
from healthcoach_infra.config import DeployConfigError


def main() -> int:
    """Synthesize into ``cdk.out/`` (or the CLI's output directory)."""
    try:
        app, _ = build_app()
    except DeployConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
