"""``pip install`` of Catalog, as a wheel and editable, each into a fresh venv, used from elsewhere.

Each venv starts empty (``python -m venv --without-pip``). A ``.pth`` file lends it
this test run's site-packages for pip, the build backend and Catalog's dependencies, so
nothing is downloaded: the build runs offline, without build isolation, with the
setuptools that requirements-dev.txt pins. Only Catalog itself is installed into the
venv. Then, from another directory and with no ``PYTHONPATH``, ``flask --app catalog db
upgrade`` must find the migrations the installed package carries and create the schema
in a new SQLite file, and the app must serve its pages from the templates and static
files that came with it.

The source is a copy of the working tree, so that building leaves no ``build/`` or
``*.egg-info`` behind in the repository and no stale build output can slip into a wheel.
"""

import json
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from catalog.models import Base

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SHARED_SITE_PACKAGES = sysconfig.get_paths()["purelib"]
SECRET = "3e7a1c9f5b2d8e4a6c0f3b9d7e1a5c8f2b6d0e4a9c3f7b1d5e8a2c6f0b4d9e3a"
# What a checkout holds that is no part of the source.
NOT_SOURCE_PATHS = {
    ".git",
    ".venv",
    ".env",
    "instance",
    "build",
    "dist",
    "test-results",
    "bench/data",
    "bench/.runs",
}
NOT_SOURCE_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
TIMEOUT = 300

# Run in the installed app: where catalog came from, and what two pages answer.
SERVE = """
import json, catalog
app = catalog.create_app()
client = app.test_client()
print(json.dumps({
    "package": catalog.__file__,
    "home": client.get("/").status_code,
    "stylesheet": client.get("/static/catalog.css").status_code,
    "feed": client.get("/catalog/latest.atom").status_code,
}))
"""


def source_copy(tmp_path: Path) -> Path:
    """Copy the working tree, without the checkout's own state and caches, to ``tmp_path``."""

    def ignored(directory, names):
        here = Path(directory).relative_to(ROOT)
        return {
            name
            for name in names
            if name in NOT_SOURCE_NAMES
            or name.endswith(".egg-info")
            or str(here / name) in NOT_SOURCE_PATHS
        }

    target = tmp_path / "source"
    shutil.copytree(ROOT, target, ignore=ignored, symlinks=True)
    return target


def environment(tmp_path: Path, **settings) -> dict[str, str]:
    """Return a clean environment: no PYTHONPATH, no index, no pip version check."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **settings,
    }


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def fresh_venv(path: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """Make an empty venv at ``path`` that borrows this run's site-packages.

    Returns its interpreter and its own site-packages, where installs go.
    """
    run([sys.executable, "-m", "venv", "--without-pip", str(path)], path.parent, env)
    python = path / "bin" / "python"
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        path.parent,
        env,
    ).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(SHARED_SITE_PACKAGES + "\n")
    return python, Path(site)


def pip_install(python: Path, cwd: Path, env: dict[str, str], *target: str) -> None:
    run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", *target],
        cwd,
        env,
    )


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def assert_catalog_is_not_importable(python: Path, tmp_path: Path, env: dict[str, str]):
    """Check that before the install nothing, the borrowed site-packages included, has it."""
    probe = subprocess.run(
        [str(python), "-c", "import catalog"], cwd=tmp_path, env=env, capture_output=True
    )
    assert probe.returncode == 1
    assert b"No module named 'catalog'" in probe.stderr


def assert_installed_app_works(python: Path, tmp_path: Path, package_root: Path, source: Path):
    """From a directory of its own, migrate a new SQLite file and serve pages."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "catalog.sqlite"
    env = environment(
        tmp_path, DATABASE_URL=f"sqlite:///{database}", SECRET_KEY=SECRET, FORCE_HTTPS="0"
    )
    upgraded = run(
        [str(python), "-m", "flask", "--app", "catalog", "db", "upgrade"], elsewhere, env
    )
    assert "Running upgrade  -> 0001" in upgraded.stderr, upgraded.stderr
    with sqlite3.connect(database) as connection:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert set(Base.metadata.tables) <= tables, sorted(tables)
    assert revision == ScriptDirectory(str(source / "migrations")).get_current_head()

    served = json.loads(run([str(python), "-c", SERVE], elsewhere, env).stdout)
    assert Path(served.pop("package")).is_relative_to(package_root)
    assert served == {"home": 200, "stylesheet": 200, "feed": 200}


def test_a_wheel_installs_the_app_with_its_migrations_templates_and_static_files(tmp_path):
    source = source_copy(tmp_path)
    env = environment(tmp_path)
    python, site = fresh_venv(tmp_path / "venv", env)
    assert_catalog_is_not_importable(python, tmp_path, env)
    dist = tmp_path / "dist"
    run(
        [str(python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist)]
        + [str(source)],
        tmp_path,
        env,
    )
    [wheel] = dist.glob("catalog-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {n for n in archive.namelist() if not n.startswith("catalog-")}
    expected = {f"catalog/{name}" for name in files_under(source / "catalog")}
    expected |= {f"catalog/migrations/{name}" for name in files_under(source / "migrations")}
    assert packaged == expected, (sorted(expected - packaged), sorted(packaged - expected))

    pip_install(python, tmp_path, env, str(wheel))
    assert (site / "catalog" / "migrations" / "env.py").is_file()
    assert_installed_app_works(python, tmp_path, site / "catalog", source)


def test_an_editable_install_uses_the_checkouts_migrations(tmp_path):
    source = source_copy(tmp_path)
    env = environment(tmp_path)
    python, _ = fresh_venv(tmp_path / "venv", env)
    assert_catalog_is_not_importable(python, tmp_path, env)
    pip_install(python, tmp_path, env, "--editable", str(source))
    assert_installed_app_works(python, tmp_path, source / "catalog", source)
