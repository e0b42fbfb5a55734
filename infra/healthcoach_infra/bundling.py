"""Lambda code bundles built on this machine, without Docker: CDK's local bundling hook runs pip.

A bundle is ``functions/<name>/`` at the root (handler ``handler.handler``), the package
``healthcoach_realtime`` (with ``schemas/`` inside it) and the function's third-party
dependencies, installed by ``pip --platform manylinux2014_aarch64 --only-binary=:all:
--python-version 3.13 --target``. boto3 is bundled only where a function lists it (the ones
that publish to the Custom Event Bus, whose ``eventbridgev2`` API a runtime's own boto3 may
predate); the others use the Lambda runtime's. ``must_contain`` names paths a bundle cannot do
without (botocore's ``data/eventbridgev2`` model): a bundle that lacks one fails the build.

Two things keep cold starts and synths short:

- Everything is precompiled to ``.pyc`` for the target Python with ``--invalidation-mode
  unchecked-hash``: ``/var/task`` is read-only, so without them every cold start compiles its
  imports again, and CDK zips files with a fixed 1980 timestamp, which would invalidate the
  default (timestamp-checked) ``.pyc``.
- Dependencies are installed once per (requirements, platform, Python) into
  ``.cache/lambda-deps/<hash>/`` and hard-linked into each bundle.

Example (the x86_64 variant the tests import in a clean interpreter)::

    spec = BundleSpec("connect", pin(["pyjwt[crypto]"]), repo_root, target=host_target())
    build_bundle(spec, Path("/tmp/connect-bundle"))
"""

from __future__ import annotations

import glob
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

__all__ = [
    "LAMBDA_TARGET",
    "PACKAGE",
    "BundleSpec",
    "BundleTarget",
    "BundlingError",
    "LocalPipBundling",
    "build_bundle",
    "bundle_hash",
    "bytecode_compiler",
    "host_target",
    "install_dependencies",
    "lambda_code",
    "pin",
]

PACKAGE = "healthcoach_realtime"
# Only for the local stack, the CLI and tests: never shipped to Lambda.
PACKAGE_EXCLUDES = frozenset({"local", "cli.py", "dev_identity.py"})
_NEVER_COPIED = frozenset({"__pycache__", ".keep", ".pytest_cache", ".mypy_cache"})
# Bump when the bundle layout changes, so cached deps and staged assets are rebuilt.
_LAYOUT_VERSION = "1"
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?P<extras>\[[A-Za-z0-9,._-]+\])?$")


class BundlingError(RuntimeError):
    """pip or the bytecode compiler failed; the message carries their output."""


@dataclass(frozen=True)
class BundleTarget:
    """The platform and Python a bundle is built for (wheel tags and ``.pyc`` version)."""

    platform: str
    python_version: str


LAMBDA_TARGET = BundleTarget("manylinux2014_aarch64", "3.13")


def host_target() -> BundleTarget:
    """This machine's platform and Python: a bundle that can be imported here, in a test."""
    return BundleTarget(f"manylinux2014_{platform.machine()}", f"{sys.version_info[0]}.{sys.version_info[1]}")


@dataclass(frozen=True)
class BundleSpec:
    """What goes into one function's bundle."""

    function: str
    requirements: tuple[str, ...]
    repo_root: Path
    target: BundleTarget = LAMBDA_TARGET
    # Paths relative to the bundle root that must exist once it is built.
    must_contain: tuple[str, ...] = ()

    @property
    def source_dir(self) -> Path:
        """``functions/<name>/``: its files land at the bundle root."""
        return self.repo_root / "functions" / self.function

    @property
    def cache_dir(self) -> Path:
        """Where installed dependencies are kept between synths (git-ignored)."""
        return self.repo_root / ".cache" / "lambda-deps"


def pin(distributions: Iterable[str]) -> tuple[str, ...]:
    """``pyjwt[crypto]`` -> ``pyjwt[crypto]==2.15.1``: the version installed here, that tests ran on.

    A distribution not installed here stays unpinned (pip then takes the newest).
    """
    pinned = []
    for requirement in distributions:
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise ValueError(f"expected a distribution name with optional extras, got {requirement!r}")
        try:
            pinned.append(f"{requirement}=={metadata.version(match['name'])}")
        except metadata.PackageNotFoundError:
            pinned.append(requirement)
    return tuple(pinned)


def _walk(root: Path, *, skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Files under ``root`` in a stable order, without caches and ``skip`` (top-level names)."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or _NEVER_COPIED.intersection(relative.parts):
            continue
        if path.is_file() and path.suffix != ".pyc":
            yield path


def source_files(spec: BundleSpec) -> list[tuple[str, Path]]:
    """(path in the bundle, path in the repository) of every file taken from the repository."""
    package = spec.repo_root / "src" / PACKAGE
    files = [(p.relative_to(spec.source_dir).as_posix(), p) for p in _walk(spec.source_dir)]
    files += [
        (f"{PACKAGE}/{p.relative_to(package).as_posix()}", p) for p in _walk(package, skip=PACKAGE_EXCLUDES)
    ]
    files += [(f"{PACKAGE}/schemas/{p.name}", p) for p in sorted((spec.repo_root / "schemas").glob("*.json"))]
    return files


def _dependencies_key(spec: BundleSpec, compiler: str | None) -> str:
    text = "\n".join([_LAYOUT_VERSION, spec.target.platform, spec.target.python_version, str(bool(compiler))])
    return hashlib.sha256("\n".join([text, *sorted(spec.requirements)]).encode()).hexdigest()[:16]


def bundle_hash(spec: BundleSpec) -> str:
    """The asset hash: changes exactly when a file, a requirement, the target or the layout does."""
    digest = hashlib.sha256(spec.function.encode())
    digest.update(_dependencies_key(spec, bytecode_compiler(spec.target.python_version)).encode())
    for relative, path in source_files(spec):
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def bytecode_compiler(python_version: str) -> str | None:
    """An interpreter of ``python_version`` to precompile with, or None if this machine has none.

    Looked for in ``LAMBDA_BUNDLE_PYTHON``, pyenv's versions, ``python3.13`` on PATH, and this
    interpreter; each candidate is run once to check its version (pyenv shims can lie).
    """
    candidates = [os.environ.get("LAMBDA_BUNDLE_PYTHON", "")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{python_version}.*/bin/python{python_version}"))
    candidates += [shutil.which(f"python{python_version}") or "", sys.executable]
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run(  # noqa: S603 (a Python interpreter, our arguments)
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if found.returncode == 0 and found.stdout.strip() == python_version:
            return candidate
    return None


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise BundlingError(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{output}")


def _compile(compiler: str | None, paths: Iterable[Path]) -> None:
    """Precompile for the target Python; unchecked-hash, so zip timestamps cannot invalidate them."""
    targets = [str(p) for p in paths]
    if compiler and targets:
        _run(
            [
                compiler,
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "--invalidation-mode",
                "unchecked-hash",
                *targets,
            ],
            "precompiling the bundle",
        )


def install_dependencies(spec: BundleSpec) -> Path:
    """The function's dependencies for its target, installed (and compiled) once, then cached."""
    compiler = bytecode_compiler(spec.target.python_version)
    done = spec.cache_dir / _dependencies_key(spec, compiler)
    if done.is_dir():
        return done
    staging = spec.cache_dir / f".{done.name}.{uuid.uuid4().hex}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    pip += ["--platform", spec.target.platform, "--only-binary=:all:", "--implementation", "cp"]
    pip += ["--python-version", spec.target.python_version, "--target", str(staging), *spec.requirements]
    try:
        _run(pip, f"installing {', '.join(spec.requirements)} for {spec.target.platform}")
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: nothing runs them
        _compile(compiler, [staging])
        staging.rename(done)
    except OSError:
        if not done.is_dir():  # lost a race with another synth: theirs is as good as ours
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


def _link_tree(source: Path, destination: Path) -> None:
    """Hard links when possible (same file system: no bytes copied), else copies."""

    def link(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    shutil.copytree(source, destination, copy_function=link, dirs_exist_ok=True)


def build_bundle(spec: BundleSpec, output_dir: Path) -> None:
    """Write the complete bundle of ``spec`` into ``output_dir`` (which may exist and be empty)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    _link_tree(install_dependencies(spec), output_dir)
    for relative, path in source_files(spec):
        target = output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    handler_files = [output_dir / rel for rel, _ in source_files(spec) if not rel.startswith(f"{PACKAGE}/")]
    ours = [output_dir / PACKAGE, *(p for p in handler_files if p.suffix == ".py")]
    _compile(bytecode_compiler(spec.target.python_version), ours)
    missing = [path for path in spec.must_contain if not (output_dir / path).exists()]
    if missing:
        raise BundlingError(
            f"the {spec.function} bundle lacks {', '.join(missing)} "
            f"(requirements: {', '.join(spec.requirements) or 'none'})"
        )


@jsii.implements(cdk.ILocalBundling)
class LocalPipBundling:
    """CDK's local bundling hook: always bundles here, so CDK never falls back to Docker."""

    def __init__(self, spec: BundleSpec) -> None:
        self.spec = spec

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: Any) -> bool:
        """Called by CDK during synth with an empty ``output_dir``; raises rather than fall back."""
        build_bundle(self.spec, Path(output_dir))
        return True


def lambda_code(spec: BundleSpec) -> lambda_.Code:
    """The function's code asset, bundled locally and hashed from its inputs (see ``bundle_hash``)."""
    return lambda_.Code.from_asset(
        str(spec.source_dir),
        asset_hash=bundle_hash(spec),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(
            # Required by the API, never pulled: LocalPipBundling always succeeds or raises.
            image=lambda_.Runtime.PYTHON_3_13.bundling_image,
            local=LocalPipBundling(spec),
        ),
    )
