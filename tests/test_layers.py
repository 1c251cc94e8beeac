"""The package layers, enforced on the source: who may import whom, and no import cycle.

Every import counts, at module level or inside a function, under ``TYPE_CHECKING`` or
not: a cycle held together by a deferred import is still a cycle.

- ``journeys`` (the pure engine) imports no framework, Kafka client, metrics or stream code;
- ``schemas`` (the contracts) imports nothing of ours;
- only the worker (``streams.worker``) and the benchmark's faust baseline import faust;
- operations (``streams.ops``) and the Kafka tools (``streams.kafka``) never import the worker;
- the collector (``streams.collector``) imports neither the worker nor faust;
- no module is imported by the composition root's agents back (no cycle anywhere).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("journeys", "schemas", "streams")
FRAMEWORKS = ("faust", "mode", "aiokafka", "kafka", "prometheus_client", "rocksdict")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """Every module ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            yield from submodules
            if len(submodules) < len(node.names):  # a name defined by the package itself
                yield base


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: set(imported(path, name, known)) for name, path in mods.items()}


GRAPH = graph()


def top(target: str) -> str:
    return target.split(".")[0]


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def offenders(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{mod} -> {target}"
        for mod, targets in GRAPH.items()
        if within(mod, importer)
        for target in targets
        if any(within(target, f) for f in forbidden)
    )


def test_the_engine_imports_no_framework_client_metrics_or_stream_code() -> None:
    assert offenders("journeys", (*FRAMEWORKS, "streams")) == []


def test_the_contracts_import_nothing_of_ours() -> None:
    assert offenders("schemas", ("journeys", "streams")) == []


def test_only_the_worker_and_the_faust_baseline_import_faust() -> None:
    allowed = ("streams.worker", "streams.bench.baselines")
    found = [
        line
        for line in offenders("streams", ("faust", "mode"))
        if not any(within(line.split(" -> ")[0], a) for a in allowed)
    ]
    assert found == []


@pytest.mark.parametrize("package", ["streams.ops", "streams.kafka"])
def test_operations_and_kafka_tools_never_import_the_worker(package: str) -> None:
    assert offenders(package, ("streams.worker",)) == []


def test_the_collector_imports_neither_the_worker_nor_faust() -> None:
    assert offenders("streams.collector", ("streams.worker", "faust", "mode")) == []


def test_no_import_cycle() -> None:
    ours = {
        name: {t for t in targets if t in GRAPH and t != name} for name, targets in GRAPH.items()
    }
    # a package's __init__ importing its own modules is no cycle of concern; edges into
    # a package name stand for its __init__ only
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(ours[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(ours):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_checks_see_the_imports() -> None:
    """The graph is read right: a few arrows known to exist are in it."""
    assert "streams.worker.runtime" in GRAPH["streams.worker.journey_agent"]
    assert "faust" in GRAPH["streams.worker.app"]
    assert "schemas" in GRAPH["journeys.driver"]  # from schemas import TouchpointEvent
    assert "schemas.segment" in GRAPH["schemas.decode"]  # from schemas import segment
    assert "schemas" not in GRAPH["schemas.decode"]
    assert "streams.worker.links" in GRAPH["streams.worker.journey_agent"]


def package_of(module: str) -> str:
    """The room a module is in: ``streams.<sub-package>``, else its top package."""
    parts = module.split(".")
    if parts[0] == "streams" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0] if parts[0] != "streams" or len(parts) == 1 else "streams"


def main() -> None:
    """Print the import graph between packages and every module-level cycle:
    ``python -m tests.test_layers``."""
    edges: dict[tuple[str, str], int] = {}
    for mod, targets in sorted(GRAPH.items()):
        for target in targets:
            if target in GRAPH and package_of(target) != package_of(mod):
                pair = (package_of(mod), package_of(target))
                edges[pair] = edges.get(pair, 0) + 1
    for (src, dst), n in sorted(edges.items()):
        print(f"{src:>18} -> {dst:<18} {n:3d} imports")
    try:
        test_no_import_cycle()
        print("no module-level import cycle")
    except AssertionError as exc:
        print(f"cycles: {exc}")


if __name__ == "__main__":
    main()
