"""The compiled engine (``journeys.native``) gives what the pure-Python engine gives.

The test process runs the pure modules (tests/conftest.py); when a current build is in
``build/native`` (``./run setup`` makes one), the engine's own tests, the golden outputs
byte for byte and replay's tests run again in a process that requires the compiled
modules. The finder's decisions (current, stale, off, required) are tested on a
build directory of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import journeys.engine
from journeys import native

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))
# The engine's tests that read exact states and triggers (none patches engine functions).
SUITES = ("tests/journeys", "tests/replay", "tests/test_fuzz_decode_engine.py")


def test_this_process_runs_the_pure_engine_unless_compiled_is_required() -> None:
    if os.environ.get(native.ENV) == "require":
        assert native.status().active
        assert journeys.engine.__file__ is not None
        assert journeys.engine.__file__.endswith(SUFFIX)
    else:
        assert native.status() == native.Status(False, f"{native.ENV}=off")
        assert journeys.engine.__file__ is not None
        assert journeys.engine.__file__.endswith("engine.py")


def test_compiled_engine_passes_the_engine_tests() -> None:
    files, reason = native._current(native.BUILD_DIR)
    if files is None:
        pytest.skip(f"no current compiled engine: {reason}")
    if os.environ.get(native.ENV) == "require":
        pytest.skip("already the compiled run")
    env = {**os.environ, native.ENV: "require"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def _fake_build(directory: Path) -> dict[str, object]:
    """A manifest as :func:`native.build` writes it, with empty library files."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = native._wanted()
    files = {name: name.replace(".", "__") + SUFFIX for name in native.MODULES}
    for file in files.values():
        (directory / file).write_bytes(b"")
    manifest["files"] = files
    (directory / native.MANIFEST).write_text(json.dumps(manifest))
    return manifest


def test_a_build_matching_every_source_is_current(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    files, reason = native._current(tmp_path)
    assert reason == ""
    assert files is not None
    assert sorted(files) == sorted(native.MODULES)
    assert files["journeys.engine"] == tmp_path / ("journeys__engine" + SUFFIX)


def test_a_source_edited_after_the_build_makes_it_stale(tmp_path: Path) -> None:
    manifest = _fake_build(tmp_path)
    modules = manifest["modules"]
    assert isinstance(modules, dict)
    modules["journeys.timers"] = "0" * 64
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    assert native._current(tmp_path) == (None, "timers.py changed since the build")


def test_another_python_or_a_missing_library_is_not_used(tmp_path: Path) -> None:
    manifest = _fake_build(tmp_path)
    (tmp_path / ("journeys__wire" + SUFFIX)).unlink()
    files, reason = native._current(tmp_path)
    assert files is None
    assert reason.startswith("missing ") and reason.endswith("journeys__wire" + SUFFIX)
    manifest["platform"] = "cpython-39-.so"
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    assert native._current(tmp_path) == (None, "built for another Python")
    assert native._current(tmp_path / "none") == (None, "not built: ./run setup builds it")


def test_require_without_a_current_build_refuses_at_import(tmp_path: Path) -> None:
    code = (
        "import journeys.native as n, pathlib, sys;"
        "sys.modules.pop('journeys.engine', None);"
        f"n.install('require', pathlib.Path({str(tmp_path)!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, native.ENV: "off"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "NativeUnavailable: JOURNEYS_NATIVE=require: compiled engine unusable: not built" in (
        done.stderr
    )


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(native.NativeUnavailable, match="expected one of auto, off, require"):
        native.install("fast")
