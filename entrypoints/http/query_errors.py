"""Invalid query parameters, every one named at once in plain words.

Litestar parses a handler's query parameters from its signature and stops short of the rules
the domain checks afterwards (text, sort, contradictions), with msgspec's wording. A valid query
never comes here; an invalid one is read again, parameter by parameter, and the route's own
rules (``opt[QUERY_RULES]``) run on the values that did parse, so one answer names them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi
from litestar import Request, Response
from litestar.exceptions import ValidationException

from domain.errors import FieldError, ValidationFailed
from entrypoints.http.body import expectation, type_options
from entrypoints.http.problems import handle_exception, problem_response, validation_problem

QUERY_RULES = "query_rules"  # a route handler's ``opt`` key: the rules of its parsed values
QueryRules = Callable[[Mapping[str, Any]], None]  # raises ``ValidationFailed``


def query_errors(request: Request[Any, Any, Any]) -> list[FieldError]:
    """Why each query parameter of ``request`` is invalid, then what the route's rules say
    about the ones that parsed."""
    handler = request.route_handler
    annotations: dict[str, Any] = handler.signature_model.__annotations__
    errors: list[FieldError] = []
    typed: dict[str, Any] = {}
    for name in dict.fromkeys(request.query_params.keys()):
        if (annotation := annotations.get(name)) is None:
            continue  # not a parameter of this route: ``query_shape`` names those
        info = mi.type_info(annotation)
        values = request.query_params.getall(name)
        # Each value of a repeatable parameter is one item: say what an item must be.
        item = next((o.item_type for o in type_options(info) if isinstance(o, mi.ListType)), None)
        if "null" in values and not _takes_text(item or info):
            errors.append(FieldError(name, "must be " + expectation(item or info, null=False)))
            continue
        try:
            typed[name] = msgspec.convert(
                values if item is not None else values[0], annotation, strict=False
            )
        except msgspec.ValidationError:
            errors.append(FieldError(name, "must be " + expectation(item or info, null=False)))
    rules: QueryRules | None = handler.opt.get(QUERY_RULES)
    if rules is not None:
        try:
            rules(typed)
        except ValidationFailed as failed:
            errors += [e for e in failed.errors if e.field not in {f.field for f in errors}]
    return errors


def _takes_text(info: mi.Type) -> bool:
    options = type_options(info)
    items = [o.item_type for o in options if isinstance(o, mi.ListType)]
    return any(isinstance(o, mi.StrType) for o in options + items)


async def no_null_literals(request: Request[Any, Any, Any]) -> None:
    """A query string has no null: ``?starred=null`` is a bad value, not an absent one (the
    framework's lax parsing reads "null" as ``None`` for an optional typed parameter)."""
    if b"null" in request.scope.get("query_string", b"") and (errors := query_errors(request)):
        raise ValidationFailed(errors)


def handle_invalid_parameters(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """Litestar's parameter errors, answered in the contract's words."""
    errors = query_errors(request) if request.query_params else []
    if not errors:
        return handle_exception(request, exc)
    return problem_response(request, validation_problem(errors))
