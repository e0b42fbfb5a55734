"""``hc-realtime dev`` whose dev issuer signs with a key the test holds, for hostile-token tests.

The stack's issuer makes a fresh RSA key in its own process, so a test cannot sign an expired
or wrong-audience token the stack would otherwise accept. This launcher (run as
``python -m tests.support.keyed_stack dev --port P``) pins that key to the PEM file named by
``HC_TEST_ISSUER_KEY`` (kid ``HC_TEST_ISSUER_KID``) and then runs the real CLI, unchanged::

    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with running_keyed_stack(issuer_key, "test-kid") as stack:
        DevIssuer(stack.issuer_url, kid="test-kid", private_key=issuer_key).mint("u", exp=0)
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.local_stack import StackUrls, free_port_pair, stack_process

__all__ = ["issuer_url", "running_keyed_stack"]

KEY_VARIABLE = "HC_TEST_ISSUER_KEY"
KID_VARIABLE = "HC_TEST_ISSUER_KID"
REPOSITORY = Path(__file__).resolve().parents[2]


def issuer_url(stack: StackUrls) -> str:
    """The stack's ``TOKEN_ISSUER`` (the ``iss`` its ``$connect`` accepts)."""
    return f"{stack.base_url}/local/issuer"


@contextmanager
def running_keyed_stack(key: rsa.RSAPrivateKey, kid: str, *flags: str) -> Iterator[StackUrls]:
    """Like ``running_stack``, with the issuer signing by ``key`` under ``kid``."""
    port = free_port_pair()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "issuer.pem"
        key_file.write_bytes(pem)
        key_file.chmod(0o600)
        python_path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": python_path,
            KEY_VARIABLE: str(key_file),
            KID_VARIABLE: kid,
        }
        command = [sys.executable, "-m", "tests.support.keyed_stack", "dev", "--port", str(port), *flags]
        with stack_process(command, port, env=environment, cwd=str(REPOSITORY)) as stack:
            yield stack


def _main() -> int:
    """Pin the issuer's key, then run the CLI with this process's arguments."""
    from healthcoach_realtime import cli
    from healthcoach_realtime.dev_identity import DevIssuer
    from healthcoach_realtime.local import stack

    loaded = serialization.load_pem_private_key(Path(os.environ[KEY_VARIABLE]).read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise SystemExit(f"{KEY_VARIABLE} must name an RSA private key")
    pinned = functools.partial(DevIssuer, kid=os.environ[KID_VARIABLE], private_key=loaded)
    stack.DevIssuer = pinned  # type: ignore[attr-defined,assignment]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
