"""The engine's hot modules compiled to C with mypyc, used when built and current.

The modules in :data:`MODULES` are plain, mypy-strict Python; ``./run setup`` compiles
them (``journeys native build``) into ``build/native/`` beside the sources,
never over them: an edited ``.py`` is never shadowed by an older compiled file. The
build writes a manifest with a digest of each module's source, the Python it was built
for and the mypy that built it; :func:`install`, run by ``journeys/__init__.py`` before
any of those modules is imported, puts a finder at the front of ``sys.meta_path`` that
loads the compiled modules, only when the manifest matches the sources byte for byte.
Anything else (no build, no C compiler, a source edited since, another Python) runs
the pure-Python modules, which give the same results: ``tests/journeys/test_native.py``
runs the golden journeys and the benchmark load both ways and compares every state and
trigger.

``JOURNEYS_NATIVE`` chooses: ``auto`` (the default: compiled when current), ``off``
(pure Python: what the test process uses, so that tests may patch engine functions),
``require`` (compiled, else :class:`NativeUnavailable` at import).

    journeys native build [--force]    # compile (skipped when current)
    journeys native status             # whether the compiled engine is current, or why not
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_DIR = PACKAGE_DIR.parent / "build" / "native"
MANIFEST = "manifest.json"
ENV = "JOURNEYS_NATIVE"
CHOICES = ("auto", "off", "require")

# The engine's call path per event and wake-up (journeys.driver down), and the state
# codec. Modules defining pydantic models (definition, predicates, stored) stay Python:
# mypyc compiles classes as native classes, which pydantic's metaclass cannot build.
MODULES = (
    "journeys.compiled",
    "journeys.driver",
    "journeys.engine",
    "journeys.guards",
    "journeys.outcome",
    "journeys.run",
    "journeys.state",
    "journeys.timers",
    "journeys.timeutil",
    "journeys.values",
    "journeys.wire",
)


class NativeUnavailable(RuntimeError):
    """``JOURNEYS_NATIVE=require`` and the compiled modules cannot be used."""


@dataclass(frozen=True, slots=True)
class Status:
    """Whether the compiled modules are in use, and why not when they are not."""

    active: bool
    reason: str

    def describe(self) -> str:
        return "compiled (mypyc)" if self.active else f"pure Python ({self.reason})"


_status = Status(False, "not installed")


def status() -> Status:
    """What :func:`install` decided in this process."""
    return _status


def _source(module: str) -> Path:
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _platform() -> str:
    return f"{sys.implementation.cache_tag}-{sysconfig.get_config_var('EXT_SUFFIX')}"


def _mypy_version() -> str:
    try:
        from mypy.version import __version__
    except ImportError:  # no mypy: nothing to build with
        return ""
    return str(__version__)


def _wanted() -> dict[str, object]:
    """The manifest a current build has."""
    return {
        "platform": _platform(),
        "modules": {name: _digest(_source(name)) for name in MODULES},
    }


def _current(directory: Path) -> tuple[dict[str, Path] | None, str]:
    """The compiled files by module name when the build in ``directory`` matches the
    sources, else None and why."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None, "not built: ./run setup builds it"
    if manifest.get("platform") != _platform():
        return None, "built for another Python"
    modules = manifest.get("modules")
    if not isinstance(modules, dict) or set(modules) != set(MODULES):
        return None, "built for another module list"
    for name in MODULES:
        if modules[name] != _digest(_source(name)):
            return None, f"{_source(name).name} changed since the build"
    files = manifest.get("files")
    if not isinstance(files, dict):
        return None, "manifest without files"
    found = {name: directory / str(file) for name, file in files.items()}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        return None, f"missing {missing[0]}"
    return found, ""


class _Finder(importlib.abc.MetaPathFinder):
    """Loads the listed modules from their compiled files (and mypyc's shared library)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def install(choice: str | None = None, directory: Path = BUILD_DIR) -> Status:
    """Use the compiled modules if ``choice`` (default: ``$JOURNEYS_NATIVE``, else
    ``auto``) allows and the build is current. Call before importing any of
    :data:`MODULES`; a second call changes nothing."""
    global _status
    choice = (choice or os.environ.get(ENV) or "auto").strip().lower()
    if choice not in CHOICES:
        raise NativeUnavailable(f"{ENV}={choice!r}: expected one of {', '.join(CHOICES)}")
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return _status
    if choice == "off":
        _status = Status(False, f"{ENV}=off")
        return _status
    loaded = [name for name in MODULES if name in sys.modules]
    files, reason = _current(directory)
    if files is not None and loaded:
        files, reason = None, f"{loaded[0]} was imported before the compiled modules"
    if files is None:
        if choice == "require":
            raise NativeUnavailable(f"{ENV}=require: compiled engine unusable: {reason}")
        _status = Status(False, reason)
        return _status
    sys.meta_path.insert(0, _Finder(files))
    _status = Status(True, "")
    return _status


def build(directory: Path = BUILD_DIR, *, force: bool = False) -> Status:
    """Compile :data:`MODULES` into ``directory`` unless a current build is there.

    Compiles in a scratch copy of the package (mypyc writes next to its inputs), then
    moves the libraries and the manifest in. Raises ``RuntimeError`` with the
    compiler's output when the build fails."""
    if _current(directory)[0] is not None and not force:
        return Status(True, "")
    if not _mypy_version():
        return Status(False, "mypy (mypyc) is not installed")
    compiler = str(sysconfig.get_config_var("CC") or "cc").split() or ["cc"]
    if shutil.which(compiler[0]) is None:
        return Status(False, "no C compiler")
    wanted = _wanted()
    with tempfile.TemporaryDirectory(prefix="journeys-native-") as scratch:
        work = Path(scratch)
        shutil.copytree(PACKAGE_DIR, work / "journeys", ignore=_not_sources)
        shutil.copytree(PACKAGE_DIR.parent / "schemas", work / "schemas", ignore=_not_sources)
        sources = [str(_source(name).relative_to(PACKAGE_DIR.parent)) for name in MODULES]
        done = subprocess.run(
            [sys.executable, "-c", _SETUP, *sources],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mypyc build failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        built: dict[str, str] = {}
        libraries = [*work.glob(f"*{suffix}"), *(work / "journeys").glob(f"*{suffix}")]
        for library in libraries:  # mypyc's shared library, then one shim per module
            relative = library.relative_to(work)
            name = ".".join(relative.parts)[: -len(suffix)]
            target = "__".join(relative.parts)
            shutil.copy2(library, directory / target)
            built[name] = target
        missing = [name for name in MODULES if name not in built]
        if missing:
            raise RuntimeError(f"mypyc build made no library for {missing}")
    manifest = {**wanted, "files": built, "mypy": _mypy_version()}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return Status(True, "")


def _not_sources(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or n.endswith((".so", ".pyd", ".pyc"))]


# Run in the scratch copy: mypyc's setuptools build, options fixed here (not read from
# the project's pyproject.toml, whose packaging metadata setuptools would validate).
_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup
sources = sys.argv[1:]
sys.argv = [sys.argv[0], "-q", "build_ext", "--inplace"]
setup(name="journeys-native", ext_modules=mypycify(sources, opt_level="3"))
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``native`` subcommand (sets ``func``)."""
    parser = subparsers.add_parser(
        "native",
        help="compile the engine's hot modules (mypyc), or say whether they are current",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True)
    build_parser = sub.add_parser("build", help="compile the engine (skipped when current)")
    build_parser.add_argument("--force", action="store_true", help="rebuild even if current")
    sub.add_parser("status", help="whether the compiled engine is current")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``journeys native build|status``: a build that fails leaves the engine in pure
    Python (exit 0: a machine without a compiler runs the same code, slower)."""
    if args.action == "build":
        try:
            built = build(force=args.force)
        except RuntimeError as exc:
            print(f"journeys native: {exc}", file=sys.stderr)
            print("journeys native: the engine runs as pure Python", file=sys.stderr)
            return 0
        print(f"journeys native: engine {built.describe()}", file=sys.stderr)
        return 0
    files, reason = _current(BUILD_DIR)
    in_use = status()
    print("built: current" if files is not None else f"built: no ({reason})")
    print(f"this process: {in_use.describe()}")
    return 0
