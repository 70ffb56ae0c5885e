"""The README's project layout names every module of the package, and only modules that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Project layout") :]
    start = section.index("```\n") + 4
    return section[start : section.index("\n```", start)].splitlines()


def named_paths(lines: list[str]) -> set[str]:
    """Return every file and folder path the layout names, folders ending in ``/``."""
    named = set()
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing folders
    for line in lines:
        match = re.match(r"( *)(\S+)", line)
        if match is None or line[: len(match.group(1))].strip():
            continue
        indent, name = len(match.group(1)), match.group(2)
        if not re.fullmatch(r"[\w./-]+", name) or (indent and not folders):
            continue  # a description carried over to the next line
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if folders and indent > folders[-1][0] + 2:
            continue  # also a description's continuation, under its own entry
        path = "".join(folder for _, folder in folders) + name
        named.add(path)
        if name.endswith("/"):
            folders.append((indent, name))
    return named


def test_every_module_of_the_package_is_in_the_readme_layout():
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "catalog").rglob("*.py")}
    named = {path for path in named_paths(layout_block()) if path.startswith("catalog/")}
    assert modules - named == set(), "modules missing from the README's layout"
    listed_modules = {path for path in named if path.endswith(".py")}
    assert listed_modules - modules == set(), "the README's layout names modules that do not exist"


def test_every_folder_the_layout_names_exists():
    for path in named_paths(layout_block()):
        if path.endswith("/"):
            assert (ROOT / path).is_dir(), path
        elif not path.startswith("."):
            assert (ROOT / path).exists(), path
