"""Strict JSON request bodies.

Litestar's own decoding coerces loosely ("1" becomes 1) and stops at the first error. This DTO
checks the media type, tells malformed JSON (400) from invalid JSON (422), ignores read-only task
fields, and still documents the schema. A valid body costs one ``msgspec.convert``; only an
invalid one is looked at field by field, so that one answer names every problem in plain words,
the domain's own rules (NFC, trimming, tags) on the well-typed fields included.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import msgspec.inspect as mi
from litestar.connection import ASGIConnection
from litestar.dto import AbstractDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

from domain.errors import FieldError
from entrypoints.http.problems import (
    HttpProblem,
    malformed_body,
    unsupported_media_type,
    validation_problem,
)

T = TypeVar("T")
M = TypeVar("M")

MAX_BODY_BYTES = 1024 * 1024
JSON_TYPES = frozenset({"application/json"})
PATCH_JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})
# The domain's rules, run on the fields whose types are right when some other field's is not.
RuleCheck = Callable[[Mapping[str, Any]], list[FieldError]]


def check_media_type(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A body must be JSON, uncompressed. Raises the 415 problem otherwise."""
    problem = media_type_problem(
        connection.headers.get("content-type", ""),
        connection.headers.get("content-encoding", "identity"),
        str(connection.scope.get("method", "")),
    )
    if problem is not None:
        raise problem


def media_type_problem(content_type: str, encoding: str, method: str) -> HttpProblem | None:
    """The 415 problem of a body sent with these headers, if it has one."""
    if encoding.strip().lower() not in ("", "identity"):
        return unsupported_media_type("Compressed request bodies are not supported.")
    media_type = content_type.split(";", 1)[0].strip().lower()
    accepted = PATCH_JSON_TYPES if method == "PATCH" else JSON_TYPES
    if media_type not in accepted:
        return unsupported_media_type(
            f"Send the body as {' or '.join(sorted(accepted))}"
            + (f", not {media_type}." if media_type else "; no Content-Type was given.")
        )
    return None


def decode_json_body(
    body: bytes,
    model: type[T],
    *,
    ignored: Collection[str] = (),
    max_items: Mapping[str, int] | None = None,
    rules: RuleCheck | None = None,
) -> T:
    """Decode ``body`` into ``model``, collecting one error per problem: each invalid field, and
    what ``rules`` find in the others. A list field longer than its ``max_items`` entry is refused
    before any of its items is looked at."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise malformed_body(f"The body is not valid JSON: {error}") from None
    except UnicodeDecodeError:  # msgspec lets the codec's error through, not its own
        raise malformed_body("The body is not valid UTF-8.") from None
    except RecursionError:
        raise malformed_body("The body is nested too deeply.") from None
    if not isinstance(raw, dict):
        raise validation_problem([FieldError("", "the body must be a JSON object")])
    data = {k: v for k, v in raw.items() if k not in ignored}
    oversized = _oversized(data, max_items) if max_items else []
    if oversized:
        too_long = {error.field for error in oversized}
        rest = {k: v for k, v in data.items() if k not in too_long}
        raise validation_problem(
            oversized + _every_error(rest, model, skipped=too_long, rules=rules)
        )
    try:  # the common case: valid at once
        return msgspec.convert(data, model, strict=True)
    except msgspec.ValidationError:
        pass
    errors = _every_error(data, model, rules=rules)
    raise validation_problem(errors or [FieldError("", "the body is invalid")])


def _oversized(data: dict[str, Any], max_items: Mapping[str, int]) -> list[FieldError]:
    return [
        FieldError(name, f"must hold at most {limit} entries as sent")
        for name, limit in max_items.items()
        if isinstance(value := data.get(name), list) and len(value) > limit
    ]


_FIELDS: dict[type[Any], dict[str, msgspec.structs.FieldInfo]] = {}


def _fields(model: type[Any]) -> dict[str, msgspec.structs.FieldInfo]:
    """A model's fields by JSON name, looked up once: that evaluates its annotations."""
    if (known := _FIELDS.get(model)) is None:
        known = _FIELDS[model] = {f.encode_name: f for f in msgspec.structs.fields(model)}
    return known


def _every_error(
    data: dict[str, Any],
    model: type[Any],
    *,
    skipped: Collection[str] = (),
    rules: RuleCheck | None = None,
) -> list[FieldError]:
    """Each field checked on its own, then the domain's rules on those whose type is right, so
    one answer names every problem; errors come in the model's field order."""
    fields = _fields(model)
    errors = [FieldError(name, "is not a known field") for name in data if name not in fields]
    typed: dict[str, Any] = {}
    for name, info in fields.items():
        if name in skipped:
            continue
        if name not in data:
            if info.required:
                errors.append(FieldError(name, "is required"))
            continue
        try:
            typed[name] = msgspec.convert(data[name], info.type, strict=True)
        except msgspec.ValidationError:
            errors += value_errors(name, data[name], mi.type_info(info.type))
    if rules is not None:
        errors += rules(typed)
    order = {name: index for index, name in enumerate(fields)}
    return sorted(errors, key=lambda error: order.get(error.field.split(".", 1)[0], -1))


def value_errors(path: str, value: Any, expected: mi.Type) -> list[FieldError]:
    """Why ``value`` is not of type ``expected``, in words for a person: the list's items by
    their path when it is the items that are wrong."""
    options = type_options(expected)
    if value is None:
        return [FieldError(path, "must not be null")]
    lists = [option for option in options if isinstance(option, mi.ListType)]
    if isinstance(value, list) and lists:
        item_type = lists[0].item_type
        return [
            error
            for index, item in enumerate(value)
            for error in _item_errors(f"{path}.{index}", item, item_type)
        ] or [FieldError(path, "must be " + expectation(expected))]
    return [FieldError(path, "must be " + expectation(expected))]


def _item_errors(path: str, item: Any, item_type: mi.Type) -> list[FieldError]:
    try:
        msgspec.convert(item, _python_type(item_type), strict=True)
    except msgspec.ValidationError:
        return value_errors(path, item, item_type)
    return []


def _python_type(info: mi.Type) -> Any:
    """The annotation a list item's type info came from (only the item types our bodies use)."""
    match info:
        case mi.Metadata():
            return _python_type(info.type)
        case mi.StrType():
            return str
        case mi.EnumType():
            return info.cls
        case _:
            return Any


def type_options(info: mi.Type) -> list[mi.Type]:
    """The types a value may have: a union's members, metadata unwrapped."""
    match info:
        case mi.Metadata():
            return type_options(info.type)
        case mi.UnionType():
            return [option for member in info.types for option in type_options(member)]
        case _:
            return [info]


def expectation(info: mi.Type, *, null: bool = True) -> str:
    """What a value of this type is, as the end of "must be ..." (``null`` among the options
    only where JSON can send it)."""
    options = [o for o in type_options(info) if null or not isinstance(o, mi.NoneType)]
    return " or ".join(dict.fromkeys(_expectation(option) for option in options))


def _expectation(info: mi.Type) -> str:
    match info:
        case mi.StrType():
            return "a string"
        case mi.BoolType():
            return "true or false"
        case mi.IntType(ge=int() as low, le=int() as high):
            return f"a whole number from {low} to {high}"
        case mi.IntType():
            return "a whole number"
        case mi.FloatType():
            return "a number"
        case mi.DateType():
            return "a date YYYY-MM-DD"
        case mi.DateTimeType():
            return "a date and time (RFC 3339)"
        case mi.UUIDType():
            return "a UUID"
        case mi.EnumType():
            return "one of " + ", ".join(str(member.value) for member in info.cls)
        case mi.LiteralType():
            return "one of " + ", ".join(str(value) for value in info.values)
        case mi.ListType():
            return "a list"
        case mi.DictType() | mi.StructType():
            return "an object"
        case mi.NoneType():
            return "null"
        case _:
            return "a valid value"


class JsonBody(AbstractDTO[T], Generic[T]):
    """Use as ``dto=JsonBody[Model], return_dto=None`` on a handler taking ``data: Model``."""

    ignored_fields: ClassVar[frozenset[str]] = frozenset()
    # List fields refused, by name, when longer than this as sent (before any item is read).
    max_items: ClassVar[Mapping[str, int]] = {}

    @staticmethod
    def rules(fields: Mapping[str, Any]) -> list[FieldError]:
        """The domain's rules that the well-typed ``fields`` break: checked with the type
        errors when a body has any (a valid body meets them in the use case)."""
        return []

    def decode_bytes(self, value: bytes) -> Any:
        check_media_type(self.asgi_connection)
        return self.decode(value, self.model_type)

    @classmethod
    def decode(cls, value: bytes, model: type[M]) -> M:
        return decode_json_body(
            value, model, ignored=cls.ignored_fields, max_items=cls.max_items, rules=cls.rules
        )

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        schema: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(cls.model_type)
        )
        return schema
