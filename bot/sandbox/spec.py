"""The Telegram Bot API as data: which methods exist, which parameters they take, which fields objects carry.

The sandbox emulator holds every request and every reply to this spec, so the bot is tested against what real
Telegram accepts rather than against what the emulator happens to tolerate. The data (``spec/api.min.json``)
is loaded lazily, once per process.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeAlias

__all__ = [
    "BotApiSpec",
    "FieldSpec",
    "MethodSpec",
    "SpecViolation",
    "TypeSpec",
]

_SCALARS = frozenset({"String", "Integer", "Float", "Boolean", "True"})
_ARRAY_PREFIX = "Array of "
_ATTACH_PREFIX = "attach://"
# How deep check_object follows nested objects; deep enough for Update.callback_query.message.chat.
_MAX_DEPTH = 6
_NO_UPLOADS: Mapping[str, Any] = {}

#: A compiled yes/no check of one declared type (or union of types): ``fits(value, depth, uploads, lenient)``.
_Fits: TypeAlias = Callable[[Any, int, Mapping[str, Any], bool], bool]


class SpecViolation(ValueError):
    """A request that real Telegram would reject as malformed (unknown method, missing or unknown parameter)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter of a method or one field of an object type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A Bot API method: its canonical (camelCase) name, its parameters and what it returns."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A Bot API object type. Abstract types (``MaybeInaccessibleMessage``, ``BotCommandScope``) list subtypes."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...]


def _fields(raw: Sequence[Mapping[str, Any]]) -> dict[str, FieldSpec]:
    return {
        str(f["name"]): FieldSpec(str(f["name"]), tuple(str(t) for t in f["types"]), bool(f["required"])) for f in raw
    }


@functools.cache
def _load_raw() -> Mapping[str, Any]:
    text = resources.files("bot.sandbox").joinpath("spec", "api.min.json").read_text(encoding="utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


class BotApiSpec:
    """Validates Bot API requests and objects against the official spec.

    Every check runs in two steps. A fast yes/no pass, with each declared type compiled once into a check
    function, accepts a valid value without building any path or message. Only when it says no does the
    explaining pass (``_check_value`` and friends) walk the value again to word the problems. Both follow the
    same rules; the emulator's tests hold them to the same answers.
    """

    __slots__ = ("_checkers", "_methods", "_object_checkers", "_required_params", "_types", "version")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        raw = _load_raw() if data is None else data
        self.version: str = str(raw.get("version", "unknown"))
        self._methods: dict[str, MethodSpec] = {
            name.lower(): MethodSpec(
                name=name,
                fields=_fields(m.get("fields", [])),
                returns=tuple(str(r) for r in m.get("returns", [])),
            )
            for name, m in raw["methods"].items()
        }
        self._types: dict[str, TypeSpec] = {
            name: TypeSpec(
                name=name,
                fields=_fields(t.get("fields", [])),
                subtypes=tuple(str(s) for s in t.get("subtypes", [])),
            )
            for name, t in raw["types"].items()
        }
        self._required_params: dict[str, tuple[str, ...]] = {
            m.name: tuple(f.name for f in m.fields.values() if f.required) for m in self._methods.values()
        }
        # Compiled on first use, so loading the spec stays cheap for a process that checks little.
        self._checkers: dict[tuple[str, ...], _Fits] = {}
        self._object_checkers: dict[str, _Fits] = {}

    @classmethod
    @functools.cache
    def default(cls) -> BotApiSpec:
        """The spec shipped with the sandbox, parsed once per process."""
        return cls()

    # ---- look-ups -------------------------------------------------------------------------------------------

    def find_method(self, name: str) -> MethodSpec | None:
        """The method called ``name`` (Telegram method names are case-insensitive), or None."""
        return self._methods.get(name.lower())

    def method(self, name: str) -> MethodSpec:
        """The method called ``name``; raises SpecViolation when the Bot API has no such method."""
        found = self.find_method(name)
        if found is None:
            raise SpecViolation(f"unknown method {name!r}")
        return found

    def find_type(self, name: str) -> TypeSpec | None:
        """The object type called ``name`` (case-sensitive, as in the spec), or None."""
        return self._types.get(name)

    # ---- requests -------------------------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, Any] | None = None,
    ) -> None:
        """Raise SpecViolation for an unknown method, a missing required parameter or an unknown parameter.

        ``files`` are the multipart uploads. An upload counts as the parameter of the same name (PTB sends a
        single file that way), and an ``attach://name`` value must name an upload. Parameter values are also
        checked against their declared types, and object values against the required fields of their type.
        """
        spec = self.method(method)
        uploads = files or _NO_UPLOADS
        for name in params:
            if name not in spec.fields:
                raise SpecViolation(f"unknown parameter {name!r} for method {spec.name}")
        for name in uploads:
            if name not in spec.fields and not any(
                isinstance(v, str) and v == _ATTACH_PREFIX + name for v in params.values()
            ):
                raise SpecViolation(f"unexpected upload {name!r} for method {spec.name}")
        if self._request_fits(spec, params, uploads):
            return
        # Something is wrong: report the first problem in the spec's parameter order.
        for field in spec.fields.values():
            present = field.name in params or field.name in uploads
            if field.required and not present:
                raise SpecViolation(f"parameter {field.name!r} is required for method {spec.name}")
            if field.name in params:
                problems = self._check_value(field.types, params[field.name], field.name, 0, uploads, True)
                if problems:
                    raise SpecViolation(f"{spec.name}: {problems[0]}")

    def _request_fits(self, spec: MethodSpec, params: Mapping[str, Any], uploads: Mapping[str, Any]) -> bool:
        """Whether every required parameter is present and every given value has its declared type."""
        for name in self._required_params[spec.name]:
            if name not in params and name not in uploads:
                return False
        fields = spec.fields
        for name, value in params.items():  # noqa: SIM110 - a loop: all() over a generator costs more than a check
            if not self._checker(fields[name].types)(value, 0, uploads, True):
                return False
        return True

    def decode_form(self, method: str, form: Mapping[str, str]) -> dict[str, Any]:
        """Turn form-encoded values back into JSON values, guided by the declared parameter types.

        PTB (like Telegram's own docs suggest) sends strings as they are and every other value JSON-encoded,
        so ``"123"`` is an Integer for ``chat_id`` but stays a String for ``text``.
        """
        spec = self.find_method(method)
        decoded: dict[str, Any] = {}
        for name, raw in form.items():
            field = spec.fields.get(name) if spec is not None else None
            decoded[name] = _decode_form_value(raw, field.types if field is not None else ())
        return decoded

    # ---- objects --------------------------------------------------------------------------------------------

    def check_object(self, type_name: str, obj: Any) -> list[str]:
        """Problems with ``obj`` as an instance of ``type_name``: missing required fields, unknown fields and
        values of the wrong type, followed into nested objects (Message.chat, Update.message, ...).

        An empty list means the object is spec-valid.
        """
        if self._object_checker(type_name)(obj, 0, _NO_UPLOADS, False):
            return []
        return self._check_object(type_name, obj, type_name, 0, _NO_UPLOADS, False)

    def check_result(self, method: str, result: Any) -> list[str]:
        """Problems with ``result`` as the return value of ``method`` (any of its declared return types)."""
        spec = self.method(method)
        if self._checker(spec.returns)(result, 0, _NO_UPLOADS, False):
            return []
        return self._check_value(spec.returns, result, f"{spec.name}()", 0, _NO_UPLOADS, False)

    # ---- the fast pass: compiled yes/no checks ------------------------------------------------------------

    def _checker(self, types: tuple[str, ...]) -> _Fits:
        """The compiled check for a value declared as ``types`` (any one of them), built once per union."""
        found = self._checkers.get(types)
        if found is None:
            found = self._checkers[types] = self._compile(types)
        return found

    def _compile(self, types: tuple[str, ...]) -> _Fits:
        """Mirror ``_check_value``: a union, then arrays, scalars and object types."""
        if len(types) > 1:
            return _fits_any_of(tuple(self._checker((t,)) for t in types))
        if not types:
            return _fits_anything
        type_name = types[0]
        if type_name.startswith(_ARRAY_PREFIX):
            return _fits_array_of(self._checker((type_name.removeprefix(_ARRAY_PREFIX),)))
        scalar = _SCALAR_CHECKS.get(type_name)
        if scalar is not None:
            return scalar
        return self._object_checker(type_name)

    def _object_checker(self, type_name: str) -> _Fits:
        """The compiled check for an instance of the object type ``type_name``; mirrors ``_check_object``."""
        found = self._object_checkers.get(type_name)
        if found is not None:
            return found
        spec = self._types.get(type_name)
        if spec is None:
            found = _fits_nothing
        elif type_name == "InputFile":
            found = _fits_input_file
        elif spec.subtypes:
            # A union may contain itself: RichText is a string, a RichText object or an Array of RichText. Reserve
            # the name with a forward reference first, so compiling the alternatives finds it instead of recursing.
            forward = _Forward()
            self._object_checkers[type_name] = forward.fits
            found = forward.target = _fits_any_of(tuple(self._checker((s,)) for s in spec.subtypes))
        else:
            found = _ObjectCheck(self, spec).fits
        self._object_checkers[type_name] = found
        return found

    def _field_checkers(self, spec: TypeSpec) -> dict[str, _Fits]:
        """The compiled check of each field of ``spec``, for its ``_ObjectCheck``."""
        return {name: self._checker(f.types) for name, f in spec.fields.items()}

    # ---- the explaining pass: what exactly is wrong -------------------------------------------------------

    def _check_object(
        self,
        type_name: str,
        obj: Any,
        path: str,
        depth: int,
        uploads: Mapping[str, Any],
        lenient: bool,
    ) -> list[str]:
        spec = self._types.get(type_name)
        if spec is None:
            return [f"{path}: unknown type {type_name}"]
        if type_name == "InputFile":
            return _check_input_file(obj, path, uploads)
        if spec.subtypes:
            # An abstract type: the object is valid if it is valid as one of the concrete types.
            return self._best_of(spec.subtypes, obj, path, depth, uploads, lenient)
        if not isinstance(obj, Mapping):
            return [f"{path}: expected {type_name} object, got {type(obj).__name__}"]
        problems: list[str] = []
        for field in spec.fields.values():
            if field.required and field.name not in obj:
                problems.append(f"{path}.{field.name}: missing required field of {type_name}")
        for key, value in obj.items():
            declared = spec.fields.get(key)
            if declared is None:
                # Telegram ignores unknown fields in objects it receives; in objects it sends they are a bug.
                if not lenient:
                    problems.append(f"{path}.{key}: unknown field of {type_name}")
                continue
            if depth < _MAX_DEPTH:
                problems.extend(self._check_value(declared.types, value, f"{path}.{key}", depth + 1, uploads, lenient))
        return problems

    def _best_of(
        self,
        type_names: Sequence[str],
        obj: Any,
        path: str,
        depth: int,
        uploads: Mapping[str, Any],
        lenient: bool,
    ) -> list[str]:
        best: list[str] | None = None
        for name in type_names:
            problems = self._check_value((name,), obj, path, depth, uploads, lenient)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def _check_value(
        self,
        types: Sequence[str],
        value: Any,
        path: str,
        depth: int,
        uploads: Mapping[str, Any],
        lenient: bool,
    ) -> list[str]:
        if len(types) > 1:
            return self._best_of(types, value, path, depth, uploads, lenient)
        if not types:
            return []
        type_name = types[0]
        if type_name.startswith(_ARRAY_PREFIX):
            if not isinstance(value, list | tuple):
                return [f"{path}: expected {type_name}, got {type(value).__name__}"]
            inner = (type_name.removeprefix(_ARRAY_PREFIX),)
            problems: list[str] = []
            for i, item in enumerate(value):
                problems.extend(self._check_value(inner, item, f"{path}[{i}]", depth, uploads, lenient))
            return problems
        if type_name in _SCALARS:
            return [] if _scalar_matches(type_name, value) else [f"{path}: expected {type_name}, got {value!r}"]
        return self._check_object(type_name, value, path, depth, uploads, lenient)


# The scalar checks have the compiled checks' signature so an object's field table can call them directly.


def _fits_string(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return isinstance(value, str)


def _fits_integer(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits_float(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fits_boolean(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return isinstance(value, bool)


def _fits_true(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return value is True


_SCALAR_CHECKS: dict[str, _Fits] = {
    "String": _fits_string,
    "Integer": _fits_integer,
    "Float": _fits_float,
    "Boolean": _fits_boolean,
    "True": _fits_true,
}


def _fits_anything(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    """A value with no declared type (none in the spec today) is taken as it is, as ``_check_value`` does."""
    return True


def _fits_nothing(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    """A type the spec does not define: ``_check_object`` reports every value of it."""
    return False


def _fits_input_file(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
    return not _check_input_file(value, "InputFile", uploads)


def _fits_any_of(alternatives: tuple[_Fits, ...]) -> _Fits:
    """A union: ``Integer or String``, the four reply markups, an abstract type's subtypes.

    Valid when one alternative accepts the value, which is when ``_best_of`` finds no problems.
    """

    def fits(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
        for alternative in alternatives:  # noqa: SIM110 - a loop: any() over a generator costs more than a check
            if alternative(value, depth, uploads, lenient):
                return True
        return False

    return fits


def _fits_array_of(inner: _Fits) -> _Fits:
    """``Array of X``: a list (or tuple) whose every item is an X; nesting does not count towards the depth."""

    def fits(value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
        if not isinstance(value, list | tuple):
            return False
        for item in value:  # noqa: SIM110 - a loop: all() over a generator costs more than a check
            if not inner(item, depth, uploads, lenient):
                return False
        return True

    return fits


class _Forward:
    """A compiled check that is still being built: it calls ``target`` once that is set."""

    __slots__ = ("target",)

    def __init__(self) -> None:
        self.target: _Fits = _fits_nothing

    def fits(self, value: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
        return self.target(value, depth, uploads, lenient)


class _ObjectCheck:
    """The compiled check of a concrete object type, by ``_check_object``'s rules.

    Required fields present, no unknown fields unless lenient, and each field's value of its declared type
    while below ``_MAX_DEPTH``.

    The field checks are compiled on the first call rather than here, because types refer to each other
    (``Message.reply_to_message`` is a Message) and most types are never checked at all.
    """

    __slots__ = ("_fields", "_owner", "_required", "_spec")

    def __init__(self, owner: BotApiSpec, spec: TypeSpec) -> None:
        self._owner = owner
        self._spec = spec
        self._required = tuple(f.name for f in spec.fields.values() if f.required)
        self._fields: dict[str, _Fits] | None = None

    def fits(self, obj: Any, depth: int, uploads: Mapping[str, Any], lenient: bool) -> bool:
        # Decoded JSON is a plain dict; checking for one first skips the slower ABC check of isinstance(Mapping).
        if type(obj) is not dict and not isinstance(obj, Mapping):
            return False
        fields = self._fields
        if fields is None:
            fields = self._fields = self._owner._field_checkers(self._spec)
        for name in self._required:
            if name not in obj:
                return False
        deeper = depth + 1
        for key, value in obj.items():
            check = fields.get(key)
            if check is None:
                if lenient:
                    continue
                return False
            if depth < _MAX_DEPTH and not check(value, deeper, uploads, lenient):
                return False
        return True


def _scalar_matches(type_name: str, value: Any) -> bool:
    check = _SCALAR_CHECKS.get(type_name)
    return check is not None and check(value, 0, _NO_UPLOADS, False)


def _check_input_file(value: Any, path: str, uploads: Mapping[str, Any]) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected InputFile (an upload or attach:// reference), got {type(value).__name__}"]
    if value.startswith(_ATTACH_PREFIX) and value.removeprefix(_ATTACH_PREFIX) not in uploads:
        return [f"{path}: {value} names no uploaded file"]
    if not value.startswith(_ATTACH_PREFIX):
        return [f"{path}: expected InputFile (an upload or attach:// reference), got a string"]
    return []


def _decode_form_value(raw: str, types: Sequence[str]) -> Any:
    if types and types.count("String") == len(types):
        return raw
    if "InputFile" in types and ("String" in types or raw.startswith(_ATTACH_PREFIX)):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if "String" in types and not _json_kind_fits(types, value):
        return raw
    return value


def _json_kind_fits(types: Sequence[str], value: Any) -> bool:
    """Whether a JSON-decoded value plausibly has one of the non-String declared types."""
    for t in types:
        if t in _SCALARS and t != "String" and _scalar_matches(t, value):
            return True
        if t.startswith(_ARRAY_PREFIX) and isinstance(value, list):
            return True
        if t not in _SCALARS and not t.startswith(_ARRAY_PREFIX) and isinstance(value, dict):
            return True
    return False
