"""Is a new JSON Schema of a topic compatible with the old one?

``check_compatible(old, new, mode)`` returns the breaking changes, empty when compatible:

- BACKWARD: a consumer on ``new`` reads data written with ``old``; ``new`` must accept every
  instance ``old`` accepts (no new required field, no type narrowed, no enum value removed,
  no bound tightened, no pattern or format changed…).
- FORWARD: a consumer on ``old`` reads data written with ``new`` (no required field removed,
  no type widened, no enum value added, no bound loosened…).
- FULL: both.

Both directions are one test, "does the reader schema accept all that the writer schema
accepts", run with the roles swapped. Objects without ``additionalProperties: false`` are
open: a property only one side declares is ignored (an optional field added or dropped is
compatible), while a closed reader rejects any property it does not declare. Unions
(``anyOf``/``oneOf``, ``type`` lists, nullables) are matched branch by branch on the JSON
type. A keyword the checker does not understand is reported whenever it differs, so an
unsupported change is never passed silently. ``python -m contracts.compat`` runs the check
for every released topic; see ``contracts.compat_cli``.
"""

from collections.abc import Mapping
from typing import Any, Final

Schema = Mapping[str, Any] | bool

MODES: Final = ("BACKWARD", "FORWARD", "FULL")
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment", "$defs"}
    | {"deprecated", "readOnly", "writeOnly", "definitions"}
)
_STRUCTURE: Final = frozenset({"type", "enum", "const", "anyOf", "oneOf", "$ref"})
_UPPER: Final = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER: Final = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_EXACT: Final = ("pattern", "format", "multipleOf")
_OBJECT: Final = ("properties", "required", "additionalProperties", "propertyNames")
_KNOWN: Final = _ANNOTATIONS | _STRUCTURE | set(_UPPER + _LOWER + _EXACT + _OBJECT)
_KNOWN_ALL: Final = _KNOWN | {"items", "uniqueItems"}
_KIND_OF: Final = {type(None): "null", bool: "boolean", int: "integer", float: "number"}


def check_compatible(old: Mapping[str, Any], new: Mapping[str, Any], mode: str) -> list[str]:
    """Breaking changes from ``old`` to ``new`` under ``mode``; empty means compatible.

    Each item reads ``"<MODE>: <json path>: <what changed>"``. Raises ``ValueError`` for an
    unknown mode or a ``$ref`` that is not a local JSON pointer.
    """
    mode = mode.upper()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    problems: list[str] = []
    if mode in ("BACKWARD", "FULL"):
        problems += _Comparison("BACKWARD", reader=new, writer=old).run()
    if mode in ("FORWARD", "FULL"):
        problems += _Comparison("FORWARD", reader=old, writer=new).run()
    return problems


class _Comparison:
    """Where does ``reader`` reject an instance that ``writer`` accepts?"""

    def __init__(self, mode: str, *, reader: Mapping[str, Any], writer: Mapping[str, Any]) -> None:
        self.mode = mode
        self.backward = mode == "BACKWARD"
        self.roots = (reader, writer)
        self.active: set[tuple[int, int]] = set()

    def run(self) -> list[str]:
        return self.compare(self.roots[0], self.roots[1], "$")

    def say(self, path: str, backward: str, forward: str) -> str:
        return f"{self.mode}: {path}: {backward if self.backward else forward}"

    def old_new(self, reader_value: object, writer_value: object) -> str:
        old, new = (writer_value, reader_value) if self.backward else (reader_value, writer_value)
        return f"{_show(old)} -> {_show(new)}"

    # -- schemas and unions ------------------------------------------------------------

    def compare(self, reader: Schema, writer: Schema, path: str) -> list[str]:
        # Inputs are nodes of the two original trees, so their ids are stable: a pair seen
        # again below itself is a recursive schema, compatible unless shown otherwise.
        pair = (id(reader), id(writer))
        reader, writer = _resolve(reader, self.roots[0]), _resolve(writer, self.roots[1])
        if reader is True or writer is False or pair in self.active:
            return []
        if reader is False:
            return [self.say(path, "old data is no longer accepted", "new data is not accepted")]
        self.active.add(pair)
        try:
            return self._compare_unions(reader, writer, path)
        finally:
            self.active.discard(pair)

    def _compare_unions(self, reader: Schema, writer: Schema, path: str) -> list[str]:
        readers = _branches(reader, self.roots[0])
        problems: list[str] = []
        for kind, branch in _branches(writer, self.roots[1]):
            candidates = [r for k, r in readers if _accepts_kind(k, kind)]
            if not candidates:
                problems.append(
                    self.say(path, f"type {kind} is no longer accepted", f"type {kind} is new")
                )
                continue
            outcomes = [self._compare_branch(r, branch, kind, path) for r in candidates]
            best: list[str] = min(outcomes, key=len)
            problems += best
        return problems

    def _compare_branch(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], kind: str, path: str
    ) -> list[str]:
        problems = self._compare_values(reader, writer, kind, path)
        problems += self._compare_bounds(reader, writer, path)
        problems += self._compare_unknown(reader, writer, path)
        if kind == "array":
            problems += self._compare_arrays(reader, writer, path)
        elif kind == "object":
            problems += self._compare_objects(reader, writer, path)
        return problems

    # -- keywords ----------------------------------------------------------------------

    def _compare_values(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], kind: str, path: str
    ) -> list[str]:
        allowed, written = _values(reader, kind), _values(writer, kind)
        if allowed is None:
            return []
        if written is None:
            return [self.say(path, "values now restricted to an enum", "enum restriction lifted")]
        missing = [v for v in written if v not in allowed]
        if not missing:
            return []
        return [self.say(path, f"enum value removed: {missing}", f"enum value added: {missing}")]

    def _compare_bounds(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
    ) -> list[str]:
        problems = []
        for keyword in _UPPER + _LOWER:
            bound, other = reader.get(keyword), writer.get(keyword)
            if bound is None:
                continue
            upper = keyword in _UPPER
            if other is None or (other > bound if upper else other < bound):
                change = self.old_new(bound, other)
                problems.append(
                    self.say(path, f"{keyword} tightened {change}", f"{keyword} loosened {change}")
                )
        for keyword in _EXACT:
            value, other = reader.get(keyword), writer.get(keyword)
            if value is None or value == other:
                continue
            if keyword == "multipleOf" and other is not None and other % value == 0:
                continue
            message = f"{keyword} changed {self.old_new(value, other)}"
            problems.append(self.say(path, message, message))
        return problems

    def _compare_unknown(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
    ) -> list[str]:
        problems = []
        for keyword in sorted((set(reader) | set(writer)) - _KNOWN_ALL):
            if reader.get(keyword) != writer.get(keyword):
                message = f"unsupported keyword {keyword!r} changed"
                problems.append(self.say(path, message, message))
        return problems

    def _compare_arrays(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
    ) -> list[str]:
        problems = []
        if reader.get("uniqueItems") is True and writer.get("uniqueItems") is not True:
            problems.append(self.say(path, "items must now be unique", "items may now repeat"))
        items = reader.get("items", True)
        problems += self.compare(items, writer.get("items", True), f"{path}[]")
        return problems

    def _compare_objects(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
    ) -> list[str]:
        problems = []
        read_props, write_props = reader.get("properties", {}), writer.get("properties", {})
        for name in sorted(set(reader.get("required", ())) - set(writer.get("required", ()))):
            problems.append(
                self.say(
                    f"{path}.{name}",
                    "new required field" if name not in write_props else "field became required",
                    "required field removed" if name not in write_props else "no longer required",
                )
            )
        extra = reader.get("additionalProperties", True)
        for name, schema in write_props.items():
            if name in read_props:
                problems += self.compare(read_props[name], schema, f"{path}.{name}")
            elif extra is False:
                problems.append(
                    self.say(
                        f"{path}.{name}",
                        "field removed from a closed object",
                        "new field in a closed object",
                    )
                )
            else:
                problems += self.compare(extra, schema, f"{path}.{name}")
        problems += self._compare_extra(reader, writer, path)
        return problems

    def _compare_extra(
        self, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
    ) -> list[str]:
        extra = _normal(reader.get("additionalProperties", True))
        other = _normal(writer.get("additionalProperties", True))
        problems = []
        if extra is False and other is not False:
            problems.append(self.say(path, "object closed to other properties", "object opened"))
        elif isinstance(extra, Mapping) and other is not False:
            problems += self.compare(extra, other, f"{path}.*")
        names = reader.get("propertyNames")
        if names is not None:
            problems += self.compare(names, writer.get("propertyNames", True), f"{path}.<key>")
        return problems


def _normal(schema: Schema) -> Schema:
    """``True`` for a schema that constrains nothing (``{}`` or annotations only)."""
    if isinstance(schema, Mapping) and set(schema) <= _ANNOTATIONS:
        return True
    return schema


def _show(value: object) -> str:
    return "none" if value is None else repr(value)


def _accepts_kind(reader_kind: str, writer_kind: str) -> bool:
    widening = reader_kind == "number" and writer_kind == "integer"
    return widening or reader_kind in (writer_kind, "any")


def _kind(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return _KIND_OF.get(type(value), "any")


def _values(schema: Mapping[str, Any], kind: str) -> list[Any] | None:
    if "const" in schema:
        values = [schema["const"]]
    elif "enum" in schema:
        values = list(schema["enum"])
    else:
        return None
    return [v for v in values if _accepts_kind(kind, _kind(v))]


def _resolve(schema: Schema, root: Mapping[str, Any]) -> Schema:
    """Inline ``$ref`` and single-branch ``allOf``, keeping sibling keywords."""
    if not isinstance(schema, Mapping):
        return schema
    if "$ref" in schema:
        key, target = "$ref", _pointer(root, schema["$ref"])
    elif len(schema.get("allOf", ())) == 1:
        key, target = "allOf", schema["allOf"][0]
    else:
        return _normal(schema)
    rest = _normal({k: v for k, v in schema.items() if k != key})
    resolved = _resolve(target, root)
    if not isinstance(rest, Mapping) or resolved is False:
        return resolved
    if not isinstance(resolved, Mapping):
        return rest
    return {**resolved, **rest}


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref is supported, not {ref!r}")
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _branches(schema: Schema, root: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Split a schema into ``(json type, schema)`` alternatives."""
    schema = _resolve(schema, root)
    if schema is True:
        return [("any", {})]
    if schema is False:
        return []
    union = schema.get("anyOf") or schema.get("oneOf")
    if union is not None:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        branches = []
        for option in union:
            resolved = _resolve(option, root)
            if isinstance(resolved, Mapping) and rest:
                resolved = {**rest, **resolved}
            branches += _branches(resolved, root)
        return branches
    declared = schema.get("type")
    if declared is None:
        values = _values(schema, "any")
        kinds = sorted({_kind(v) for v in values}) if values is not None else ["any"]
    else:
        kinds = [declared] if isinstance(declared, str) else list(declared)
    return [(kind, schema) for kind in kinds]


if __name__ == "__main__":
    import sys

    from contracts.compat_cli import main

    sys.exit(main())
