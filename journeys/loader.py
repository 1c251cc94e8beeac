"""Loading definitions: YAML -> validated Journey, with precise errors; the JSON Schema."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from journeys.definition import NAME, FrequencyCap, Journey
from journeys.semantics import Issue, check

DEFINITIONS = Path(__file__).parent / "definitions"
SCHEMA_FILE = Path(__file__).parent / "definition.schema.json"
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "list[str]", "list[any]", "dict"})


class DefinitionError(ValueError):
    """A definition that does not validate; ``issues`` are (path, message, line or None)."""

    def __init__(self, source: str, issues: list[tuple[str, str, int | None]]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for path, message, line in self.issues:
            where = f"{self.source}: {path}: " if path else f"{self.source}: "
            out.append(where + message + (f" (line {line})" if line is not None else ""))
        return out


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false (so ``on:`` and ``no:`` stay strings)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def parse_definition(data: Any, source: str = "<definition>", text: str | None = None) -> Journey:
    """Validate a parsed document (structure, then cross-references)."""
    try:
        journey = Journey.model_validate(data)
    except ValidationError as err:
        raise DefinitionError(source, _with_lines(pydantic_issues(err), text)) from None
    issues = check(journey)
    if issues:
        raise DefinitionError(source, _with_lines(issues, text))
    return journey


def load_definition(path: str | Path) -> Journey:
    """Read and validate one definition file; raises DefinitionError (all issues)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise DefinitionError(path.name, [("", f"invalid YAML: {problem}", line)]) from None
    if not isinstance(data, dict):
        raise DefinitionError(path.name, [("", "expected a mapping at the top level", None)])
    return parse_definition(data, path.name, text)


def load_definitions(paths: Sequence[str | Path]) -> list[Journey]:
    """The definitions one deployment runs together (the worker's, replay's), in order.

    Each file is validated (:func:`load_definition`: the first invalid one raises), then
    the set (:func:`check_together`): a journey name defined twice, or deployment
    settings that differ, raise a DefinitionError naming both files.
    """
    loaded = [(Path(p), load_definition(p)) for p in paths]
    errors = check_together(loaded)
    if errors:
        raise errors[0]  # the first file at fault, with all of its issues
    return [journey for _, journey in loaded]


def deployed_definitions(journey_paths: Sequence[str | Path]) -> list[Journey]:
    """What a worker deployed with ``journey_paths`` (``JOURNEYS_JOURNEY_PATHS``) runs: those
    files, loaded together (:func:`load_definitions`), else the built-in default journey."""
    return load_definitions(journey_paths) if journey_paths else [default_journey()]


def check_together(loaded: Sequence[tuple[Path, Journey]]) -> list[DefinitionError]:
    """What is wrong with valid definitions deployed together, per file (in order).

    * journey names must be unique: a second definition of a name would never run (its
      states are the first one's), so it is refused, naming the file that defined it;
    * the ``deployment`` settings (the per-customer frequency cap) are declared once: a
      file that declares different ones is refused.
    """
    first: dict[str, Path] = {}
    declared: tuple[Path, FrequencyCap] | None = None
    errors: list[DefinitionError] = []
    for path, journey in loaded:
        issues: list[Issue] = []
        earlier = first.setdefault(journey.name, path)
        if earlier is not path:
            where = "listed twice" if earlier == path else f"also defined in {earlier}"
            issues.append(("name", f"journey {journey.name!r} is {where}: names must be unique"))
        cap = journey.deployment.frequency_cap if journey.deployment is not None else None
        if cap is not None and declared is None:
            declared = (path, cap)
        elif cap is not None and declared is not None and cap != declared[1]:
            issues.append(
                (
                    "deployment.frequency_cap",
                    f"differs from the one declared in {declared[0]}: "
                    "the deployment's settings are declared once",
                )
            )
        if issues:
            errors.append(located(path, issues))
    return errors


def located(path: Path, issues: list[Issue]) -> DefinitionError:
    """Issues found in the file at ``path``, each with its line."""
    return DefinitionError(path.name, _with_lines(issues, _text(path)))


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # pragma: no cover - it was just read
        return None


@cache
def default_journey() -> Journey:
    """The built-in lifecycle journey (``journeys/definitions/lifecycle.yaml``)."""
    return load_definition(DEFINITIONS / "lifecycle.yaml")


def json_schema() -> dict[str, Any]:
    """JSON Schema of the definition format, for editors (definition.schema.json)."""
    schema = Journey.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://example.invalid/journeys/definition.schema.json"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def pydantic_issues(err: ValidationError) -> list[Issue]:
    """Readable (path, message) pairs, e.g. ``("rules[3].when.event", "unknown field 'evnt'")``."""
    issues: list[Issue] = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and _is_tag(p))]
        kind = e["type"]
        if kind == "extra_forbidden" and loc:
            issues.append((format_path(loc[:-1]), f"unknown field '{loc[-1]}'"))
        elif kind == "missing" and loc:
            issues.append((format_path(loc[:-1]), f"missing required field '{loc[-1]}'"))
        elif kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == NAME:
            issues.append(
                (format_path(loc), f"bad name {e['input']!r}: use a-z, 0-9 and _, from a letter")
            )
        else:
            msg = e["msg"].removeprefix("Value error, ")
            issues.append((format_path(loc), msg))
    seen: set[str] = set()
    unique = []
    for path, msg in issues:  # a union reports each member: keep the first per path
        if path not in seen:
            unique.append((path, msg))
            seen.add(path)
    return unique


def format_path(loc: list[int | str] | tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_tag(part: str) -> bool:
    return part in _UNION_TAGS or "[" in part or part.startswith("function-")


def _with_lines(issues: list[Issue], text: str | None) -> list[tuple[str, str, int | None]]:
    root = yaml.compose(text, Loader=_Loader) if text is not None else None
    return [(path, msg, _line(root, path)) for path, msg in issues]


def _line(node: Any, path: str) -> int | None:
    """1-based line of the deepest YAML node along ``path`` (best effort)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        if name and isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == name), None)
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            nxt = node.value[int(index)]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line
