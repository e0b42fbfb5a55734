"""README.md's "Layout" section matches the tree, so a reader can trust it to find a module.

The section is a code block of entries: a path, then a description (an entry continues on the
indented lines below it). A package's entry, and an entry whose path holds ``<name>``, lists
its members after the first colon of the description, comma-separated; a parenthesised gloss
after a member is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "healthcoach_realtime"
PLACEHOLDER = "<name>"


@dataclass(frozen=True)
class Entry:
    """One path of the layout and everything written about it."""

    path: str
    text: str

    @property
    def members(self) -> set[str]:
        """The comma-separated names after the first colon (glosses in parentheses dropped)."""
        _, colon, listed = re.sub(r"\([^()]*\)", "", self.text).partition(":")
        assert colon, f"{self.path}: no ':' before the list of its members"
        return {name.strip() for name in listed.split(",") if name.strip()}


def layout_entries(readme: str) -> list[Entry]:
    """The entries of the first code block under ``## Layout``."""
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    entries: list[tuple[str, list[str]]] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        if line[0].isspace():
            entries[-1][1].append(line.strip())
        else:
            path, _, text = line.partition(" ")
            entries.append((path, [text.strip()]))
    return [Entry(path, " ".join(text)) for path, text in entries]


def ignored_directories() -> set[str]:
    """Top-level directories .gitignore names outright (build output, caches, the venv)."""
    lines = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    return {line.strip("/") for line in lines if line.endswith("/") and not set("*?[") & set(line)}


def packages() -> list[Path]:
    """The library package and each of its subpackages, at any depth."""
    return sorted(init.parent for init in PACKAGE.rglob("__init__.py"))


def modules(package: Path) -> set[str]:
    """The modules directly in ``package`` (not ``__init__``)."""
    return {path.stem for path in package.glob("*.py") if path.stem != "__init__"}


def relative(path: Path) -> str:
    """``path`` as the layout writes a directory: relative to the repository, with a slash."""
    return f"{path.relative_to(REPO).as_posix()}/"


@pytest.fixture(scope="module")
def entries() -> dict[str, Entry]:
    found = layout_entries((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no Layout code block"
    return {entry.path: entry for entry in found}


def test_every_listed_path_exists(entries: dict[str, Entry]) -> None:
    """A path in the layout (each member's, for a ``<name>`` path) is in the tree."""
    missing = []
    for entry in entries.values():
        names = entry.members if PLACEHOLDER in entry.path else {""}
        missing += [p for n in names if not (REPO / (p := entry.path.replace(PLACEHOLDER, n))).exists()]
    assert missing == []


def test_every_top_level_directory_is_listed(entries: dict[str, Entry]) -> None:
    """Each directory at the top of the repository is the start of some entry's path."""
    skipped = ignored_directories()
    directories = {
        path.name
        for path in REPO.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in skipped
    }
    listed = {path.split("/", 1)[0] for path in entries}
    assert directories - listed == set()


def test_every_function_is_listed(entries: dict[str, Entry]) -> None:
    """The ``functions/<name>`` entry names exactly the functions there are."""
    functions = {path.name for path in (REPO / "functions").iterdir() if (path / "handler.py").is_file()}
    [entry] = [e for e in entries.values() if e.path.startswith(f"functions/{PLACEHOLDER}/")]
    assert entry.members == functions


@pytest.mark.parametrize("package", packages(), ids=relative)
def test_every_package_lists_exactly_its_modules(package: Path, entries: dict[str, Entry]) -> None:
    """A package (the library or any subpackage) has its own entry naming each of its modules;
    a member written ``name/`` is a directory of the package (a subpackage has its own entry)."""
    path = relative(package)
    assert path in entries, f"{path} is not in the layout"
    members = entries[path].members
    directories = {name for name in members if name.endswith("/")}
    assert members - directories == modules(package)
    assert {name for name in directories if not (package / name).is_dir()} == set()
