"""Strict JSON request bodies.

Litestar's own decoding coerces loosely ("1" becomes 1) and stops at the first error. This DTO
checks the media type, tells malformed JSON (400) from invalid JSON (422), reports every
invalid field by its path, ignores read-only task fields, and still documents the schema.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
from litestar.connection import ASGIConnection
from litestar.dto import AbstractDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

from domain.errors import FieldError
from entrypoints.http.problems import malformed_body, unsupported_media_type, validation_problem

T = TypeVar("T")

JSON_TYPES = frozenset({"application/json"})
PATCH_JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})
_ERROR_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def check_media_type(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A body must be JSON, uncompressed. Raises the 415 problem otherwise."""
    encoding = connection.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise unsupported_media_type("Compressed request bodies are not supported.")
    content_type = connection.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    accepted = PATCH_JSON_TYPES if connection.scope.get("method") == "PATCH" else JSON_TYPES
    if media_type not in accepted:
        raise unsupported_media_type(
            f"Send the body as {' or '.join(sorted(accepted))}"
            + (f", not {media_type}." if media_type else "; no Content-Type was given.")
        )


def _field_path(prefix: str, path: str | None) -> str:
    parts = re.findall(r"\.([^.\[]+)|\[(\d+)\]", path or "")
    return ".".join([prefix, *(name or index for name, index in parts)]).strip(".")


def _field_error(prefix: str, error: msgspec.ValidationError) -> FieldError:
    match = _ERROR_PATH.match(str(error))
    assert match is not None
    return FieldError(_field_path(prefix, match["path"]), match["message"])


def decode_json_body(
    body: bytes,
    model: type[T],
    *,
    ignored: Collection[str] = (),
    max_items: Mapping[str, int] | None = None,
) -> T:
    """Decode ``body`` into ``model``, collecting one error per invalid field. A list field
    longer than its ``max_items`` entry is refused before any of its items is looked at."""
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
        raise validation_problem(oversized + _every_error(rest, model, skipped=too_long))
    try:  # the common case: valid at once
        return msgspec.convert(data, model, strict=True)
    except msgspec.ValidationError as error:
        errors = _every_error(data, model) or [_field_error("", error)]
    raise validation_problem(errors)


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
    data: dict[str, Any], model: type[Any], *, skipped: Collection[str] = ()
) -> list[FieldError]:
    """Each field checked on its own, so one answer names every problem."""
    fields = _fields(model)
    errors = [FieldError(name, "is not a known field") for name in data if name not in fields]
    for name, info in fields.items():
        if name in skipped:
            continue
        if name not in data:
            if info.required:
                errors.append(FieldError(name, "is required"))
            continue
        try:
            msgspec.convert(data[name], info.type, strict=True)
        except msgspec.ValidationError as error:
            errors.append(_field_error(name, error))
    return errors


class JsonBody(AbstractDTO[T], Generic[T]):
    """Use as ``dto=JsonBody[Model], return_dto=None`` on a handler taking ``data: Model``."""

    ignored_fields: ClassVar[frozenset[str]] = frozenset()
    # List fields refused, by name, when longer than this as sent (before any item is read).
    max_items: ClassVar[Mapping[str, int]] = {}

    def decode_bytes(self, value: bytes) -> Any:
        check_media_type(self.asgi_connection)
        return decode_json_body(
            value, self.model_type, ignored=self.ignored_fields, max_items=self.max_items
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
