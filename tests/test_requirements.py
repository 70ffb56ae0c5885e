"""The pinned requirements.txt agrees with pyproject.toml's dependencies."""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            found[canonicalize_name(name.split("[")[0])] = version.strip()
    return found


def declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"]
    if extra:
        specs = specs + project["optional-dependencies"][extra]
    return [Requirement(s) for s in specs]


@pytest.mark.parametrize(
    ("filename", "extra"), [("requirements.txt", None), ("requirements-dev.txt", "dev")]
)
def test_every_dependency_is_pinned_within_its_range(filename, extra):
    pinned = pins(ROOT / filename)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in pinned, (
            f"{requirement.name} is missing from {filename}: run make requirements"
        )
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{filename} pins {name}=={pinned[name]}, outside {requirement}: run make requirements"
        )


def test_runtime_requirements_hold_no_development_tools():
    pinned = pins(ROOT / "requirements.txt")
    for requirement in declared("dev")[len(declared()) :]:
        assert canonicalize_name(requirement.name) not in pinned
