"""The Lambda bundles: what the arm64 assets contain, and that a bundle works in a clean interpreter.

The arm64 bundles cannot run here, so their contents are checked; the same bundling built for
this machine (x86_64, this Python) is imported and run in ``python -I -S`` with only the bundle
and a stand-in for the runtime's boto3 on ``sys.path`` (for the publishing bundle, a boto3 older
than eventbridgev2, as a Lambda runtime's may be).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healthcoach_infra.bundling import (
    PACKAGE,
    BundleSpec,
    BundlingError,
    build_bundle,
    bytecode_compiler,
    host_target,
    install_dependencies,
    pin,
)
from healthcoach_infra.functions import EVENTBRIDGEV2_MODEL, FUNCTIONS, PUBLISHER_SDK
from healthcoach_realtime.dev_identity import DevIssuer
from tests.infra.conftest import REPO_ROOT, Synthesized

DEPLOYED = ["connect", "disconnect", "default", "dispatcher", "stream_bridge", "session_sweeper"]
WITH_HANDLER = [n for n in FUNCTIONS if (REPO_ROOT / "functions" / n / "handler.py").is_file()]
ELF_MACHINE_AARCH64 = 183
PUBLISHER = "stream_bridge"
# The first boto3/botocore with the eventbridgev2 client, and one just before it (a runtime's).
SDK_MINIMUM = (1, 43, 102)
RUNTIME_SDK_WITHOUT_EVENTBRIDGEV2 = ("boto3==1.43.101", "botocore==1.43.101")


def _asset(synthesized: Synthesized, name: str) -> Path:
    """The staged bundle of a deployed function in the cloud assembly."""
    function = getattr(synthesized.stack, name).function
    properties = synthesized.resources[synthesized.logical_id(function)]["Properties"]
    asset_hash = properties["Code"]["S3Key"].removesuffix(".zip")
    return synthesized.outdir / f"asset.{asset_hash}"


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    return int.from_bytes(header[18:20], "little")


@pytest.mark.parametrize("name", DEPLOYED)
def test_the_handler_sits_at_the_bundle_root(synthesized: Synthesized, name: str) -> None:
    """``handler.py`` of ``functions/<name>/`` is the bundle's ``handler.py``, unchanged."""
    source = REPO_ROOT / "functions" / name / "handler.py"
    bundled = _asset(synthesized, name) / "handler.py"
    if not source.is_file():
        pytest.skip(f"functions/{name}/handler.py is not written yet")
    assert bundled.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("name", DEPLOYED)
def test_the_package_carries_the_schemas(synthesized: Synthesized, name: str) -> None:
    """``healthcoach_realtime/schemas/`` holds every file of ``schemas/`` (schema_dir() looks there)."""
    bundled = sorted(p.name for p in (_asset(synthesized, name) / PACKAGE / "schemas").glob("*.json"))
    assert bundled == sorted(p.name for p in (REPO_ROOT / "schemas").glob("*.json"))


@pytest.mark.parametrize("name", DEPLOYED)
def test_no_local_stack_in_the_bundle(synthesized: Synthesized, name: str) -> None:
    """The local stack and the dev token issuer stay home."""
    bundle = _asset(synthesized, name)
    present = [p for p in (f"{PACKAGE}/local", f"{PACKAGE}/dev_identity.py") if (bundle / p).exists()]
    assert present == []


@pytest.mark.parametrize("name", [n for n in DEPLOYED if n != PUBLISHER])
def test_functions_that_do_not_publish_use_the_runtime_sdk(synthesized: Synthesized, name: str) -> None:
    """boto3/botocore come from the runtime where no eventbridgev2 call is made (30 MB saved each)."""
    bundle = _asset(synthesized, name)
    assert [p for p in ("boto3", "botocore") if (bundle / p).exists()] == []


def test_the_stream_bridge_ships_an_sdk_with_the_eventbridgev2_model(synthesized: Synthesized) -> None:
    """The publishing bundle carries boto3/botocore >= 1.43.102 and botocore's eventbridgev2 model."""
    bundle = _asset(synthesized, PUBLISHER)
    (model,) = (bundle / EVENTBRIDGEV2_MODEL).glob("*/service-2.json*")
    assert model.stat().st_size > 0
    for distribution in PUBLISHER_SDK:
        (info,) = bundle.glob(f"{distribution}-*.dist-info")
        version = tuple(
            int(part) for part in info.name.split("-")[1].removesuffix(".dist-info").split(".")[:3]
        )
        assert version >= SDK_MINIMUM, distribution


@pytest.mark.parametrize("name", ["connect", "default"])
def test_the_verifying_functions_carry_arm64_cryptography(synthesized: Synthesized, name: str) -> None:
    """connect and default ($default's auth) verify tokens: their compiled cryptography is an aarch64
    binary (for Lambda's Graviton)."""
    (binding,) = (_asset(synthesized, name) / "cryptography" / "hazmat" / "bindings").glob("_rust*.so")
    assert _elf_machine(binding) == ELF_MACHINE_AARCH64


@pytest.mark.parametrize("name", ["disconnect", "dispatcher", "stream_bridge", "session_sweeper"])
def test_only_the_verifying_functions_pay_for_cryptography(synthesized: Synthesized, name: str) -> None:
    """Functions that verify no token carry no jwt/cryptography (16 MB, ~90 ms of imports)."""
    bundle = _asset(synthesized, name)
    assert not (bundle / "cryptography").exists()
    assert not (bundle / "jwt").exists()


@pytest.mark.parametrize("name", DEPLOYED)
def test_bundles_are_precompiled_for_python_313(synthesized: Synthesized, name: str) -> None:
    """Unchecked-hash ``.pyc`` for 3.13 next to the package (``/var/task`` is read-only)."""
    if bytecode_compiler("3.13") is None:
        pytest.skip("no Python 3.13 on this machine: bundles are built without .pyc")
    compiled = _asset(synthesized, name) / PACKAGE / "__pycache__" / "catalogue.cpython-313.pyc"
    flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source


@pytest.fixture(scope="session")
def runtime_sdk() -> Path:
    """Stands in for the boto3 the Lambda runtime provides (installed once, cached)."""
    return install_dependencies(BundleSpec("runtime-sdk", pin(["boto3"]), REPO_ROOT, target=host_target()))


@pytest.fixture(scope="session")
def host_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every function's bundle built for this machine: same code path, host wheels and Python."""
    root = tmp_path_factory.mktemp("host-bundles")
    bundles = {}
    for name in WITH_HANDLER:
        spec = BundleSpec(name, pin(FUNCTIONS[name].dependencies), REPO_ROOT, target=host_target())
        build_bundle(spec, root / name)
        bundles[name] = root / name
    return bundles


def _run_isolated(paths: list[Path], code: str, stdin: str = "") -> dict[str, Any]:
    """Run ``code`` in ``python -I -S`` with only ``paths`` added; its last line of output as JSON."""
    script = f"import sys\nsys.path[:0] = {[str(p) for p in paths]!r}\n{code}"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_REGION": "eu-west-1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("name", WITH_HANDLER)
def test_every_handler_imports_from_its_own_bundle(
    host_bundles: dict[str, Path], runtime_sdk: Path, name: str
) -> None:
    """Each bundle holds every module its handler imports (nothing from the venv: no site-packages)."""
    bundle = host_bundles[name]
    report = _run_isolated(
        [bundle, runtime_sdk],
        "import json, handler\n"
        "mods = {n: getattr(m, '__file__', None) or '' for n, m in list(sys.modules.items())}\n"
        "print(json.dumps({'handler': handler.__file__, 'path': sys.path, 'mods': mods}))",
    )
    assert Path(report["handler"]) == bundle / "handler.py"
    assert not any("site-packages" in entry for entry in report["path"])
    third_party = [f for f in report["mods"].values() if ".venv" in f]
    assert third_party == []


VERIFY = """
import json
import handler  # the connect handler: its imports come from the bundle
import cryptography, jwt
from healthcoach_realtime.auth.verifier import TokenVerifier
from healthcoach_realtime.exceptions import AuthError
from healthcoach_realtime.settings import Settings

request = json.load(sys.stdin)
settings = Settings(user_pool_client_id=request["client_id"], token_issuer_override=request["issuer"])
verifier = TokenVerifier.from_settings(settings, fetcher=lambda url: request["jwks"])
try:
    outcome = {"user": verifier.verify(request["token"]).user_id}
except AuthError as exc:
    outcome = {"refused": str(exc)}
outcome["cryptography"] = cryptography.__file__
print(json.dumps(outcome))
"""


def _verify(
    host_bundles: dict[str, Path], runtime_sdk: Path, issuer: DevIssuer, token: str
) -> dict[str, Any]:
    request = {"issuer": issuer.issuer, "client_id": issuer.client_id, "jwks": issuer.jwks(), "token": token}
    return _run_isolated([host_bundles["connect"], runtime_sdk], VERIFY, json.dumps(request))


def test_the_connect_bundle_verifies_an_rs256_token(host_bundles: dict[str, Path], runtime_sdk: Path) -> None:
    """In a clean interpreter, the bundle's own jwt + cryptography verify a Cognito-shaped id token."""
    issuer = DevIssuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool9")
    outcome = _verify(host_bundles, runtime_sdk, issuer, issuer.mint("user-123"))
    assert outcome["user"] == "user-123"
    assert Path(outcome["cryptography"]).is_relative_to(host_bundles["connect"])


def test_the_connect_bundle_refuses_a_token_of_another_key(
    host_bundles: dict[str, Path], runtime_sdk: Path
) -> None:
    """Same bundle, a token signed by a different key under the same kid: refused."""
    issuer = DevIssuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool9")
    forger = DevIssuer(issuer.issuer, kid=issuer.kid)
    outcome = _verify(host_bundles, runtime_sdk, issuer, forger.mint("user-123"))
    assert outcome["refused"] == "invalid signature"


@pytest.fixture(scope="session")
def old_runtime_sdk() -> Path:
    """A runtime whose own boto3 predates eventbridgev2 (installed once, cached)."""
    spec = BundleSpec("runtime-sdk-old", RUNTIME_SDK_WITHOUT_EVENTBRIDGEV2, REPO_ROOT, target=host_target())
    return install_dependencies(spec)


CLIENT = """
import json
import botocore.session
outcome = {"botocore": botocore.__file__, "version": botocore.__version__}
try:
    botocore.session.get_session().create_client("eventbridgev2", region_name="eu-west-1")
    outcome["eventbridgev2"] = True
except Exception as exc:
    outcome["eventbridgev2"] = type(exc).__name__
print(json.dumps(outcome))
"""


def test_the_bundled_sdk_wins_over_an_older_runtime_one(
    host_bundles: dict[str, Path], old_runtime_sdk: Path
) -> None:
    """With the bundle first on sys.path (as /var/task is on Lambda) and the runtime's older boto3
    after it, botocore is imported from the bundle and an eventbridgev2 client can be built."""
    outcome = _run_isolated([host_bundles[PUBLISHER], old_runtime_sdk], CLIENT)
    assert Path(outcome["botocore"]).is_relative_to(host_bundles[PUBLISHER])
    assert outcome["eventbridgev2"] is True


def test_the_older_runtime_sdk_alone_has_no_eventbridgev2(old_runtime_sdk: Path) -> None:
    """Control: without the bundle's SDK, the runtime's botocore cannot build the client."""
    outcome = _run_isolated([old_runtime_sdk], CLIENT)
    assert outcome["version"] == "1.43.101"
    assert outcome["eventbridgev2"] == "UnknownServiceError"


def test_a_bundle_missing_a_required_path_fails_the_build(tmp_path: Path) -> None:
    """``must_contain`` is checked: a bundle without botocore's eventbridgev2 model is refused."""
    spec = BundleSpec(
        "disconnect",
        pin(FUNCTIONS["disconnect"].dependencies),
        REPO_ROOT,
        target=host_target(),
        must_contain=(EVENTBRIDGEV2_MODEL,),
    )
    with pytest.raises(BundlingError, match="lacks botocore/data/eventbridgev2"):
        build_bundle(spec, tmp_path / "bundle")
