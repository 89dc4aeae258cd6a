"""The annotated field types of the JSON shapes: the domain's rules as JSON Schema can state
them, for msgspec and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from domain.tasks import (
    CATEGORY_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    MAX_TAGS,
    MAX_TAGS_SENT,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from domain.users import NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

# JSON Schema for the text rules. Lengths count code points after NFC normalisation and
# trimming, which JSON Schema cannot say: the bounds are in the schema (``extra_json_schema``
# documents them without msgspec enforcing them on the raw text) and the descriptions say so;
# the domain checks them on the normalised text.
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"  # Unicode category Cc
_DESCRIPTION_CONTROLS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"


def trimmed_text(controls: str, *, blank: bool) -> str:
    """Text as a client should send it: no ``controls``, nothing to trim at either end (the
    server trims, so whitespace sent there is not refused, only dropped)."""
    core = f"[^\\s{controls}](?:[^{controls}]*[^\\s{controls}])?"
    return f"^(?:{core})?$" if blank else f"^{core}$"


NO_CONTROLS = trimmed_text(_CONTROLS, blank=True)
NOT_BLANK = trimmed_text(_CONTROLS, blank=False)
NORMALISED = "counted in code points after NFC normalisation and trimming"


def text_rule(
    description: str, *, max_length: int, min_length: int = 0, pattern: str = NO_CONTROLS
) -> Meta:
    schema: dict[str, Any] = {"maxLength": max_length, "pattern": pattern}
    if min_length:
        schema["minLength"] = min_length
    return Meta(description=description, extra_json_schema=schema)


Title = Annotated[
    str,
    text_rule(
        f"1-255 characters ({NORMALISED}); not blank, no control characters",
        min_length=1,
        max_length=TITLE_MAX_LENGTH,
        pattern=NOT_BLANK,
    ),
]
Description = Annotated[
    str,
    text_rule(
        f"At most 10,000 characters ({NORMALISED}); tab, LF and CR are the only controls;"
        " empty means none (stored as null)",
        max_length=DESCRIPTION_MAX_LENGTH,
        pattern=trimmed_text(_DESCRIPTION_CONTROLS, blank=True),
    ),
]
Tag = Annotated[
    str,
    text_rule(
        f"1-50 characters ({NORMALISED}); stored lower-cased",
        min_length=1,
        max_length=TAG_MAX_LENGTH,
        pattern=NOT_BLANK,
    ),
]
Tags = Annotated[
    list[Tag],
    Meta(
        description=(
            f"At most {MAX_TAGS} tags after lower-casing and removing duplicates (first"
            f" occurrence kept); at most {MAX_TAGS_SENT} entries as sent"
        ),
        extra_json_schema={"maxItems": MAX_TAGS},
    ),
]
Category = Annotated[
    str,
    text_rule(
        f"One label such as 'work': at most 50 characters ({NORMALISED}), case kept,"
        " compared case-insensitively; empty means none (stored as null)",
        max_length=CATEGORY_MAX_LENGTH,
    ),
]
# What a task holds once stored: the same rules, tags distinct.
StoredTags = Annotated[
    list[Tag],
    Meta(
        description="Lower-cased, distinct, in the order first given",
        extra_json_schema={"maxItems": MAX_TAGS, "uniqueItems": True},
    ),
]
# An address as email-validator takes it: a dot-atom local part of at most 64 characters, a
# domain of LDH labels under a letter-only top-level domain not reserved for special use (the
# validator also takes internationalised addresses, which the pattern leaves out).
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = "(?![A-Za-z0-9]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # no xn--, aa--
_SPECIAL_USE = "(?:{})".format(
    "|".join(
        "".join(f"[{c}{c.upper()}]" for c in name)  # case-insensitively, in any regex dialect
        for name in ("arpa", "invalid", "local", "localhost", "onion")
    )
)
EMAIL_PATTERN = (
    f"^(?=[^@]{{1,64}}@){_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+(?!{_SPECIAL_USE}$)[A-Za-z]{{2,63}}$"
)
Email = Annotated[
    str,
    Meta(
        description="Syntax-checked only; compared case-insensitively, returned as registered",
        extra_json_schema={"format": "email", "maxLength": 254, "pattern": EMAIL_PATTERN},
    ),
]
Name = Annotated[
    str,
    text_rule(
        f"1-100 characters ({NORMALISED})",
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        pattern=NOT_BLANK,
    ),
]
Password = Annotated[
    str,
    Meta(
        description=(
            "8-128 characters (code points after NFC; never trimmed), any Unicode; not on the"
            " common-password list and not the email"
        ),
        extra_json_schema={
            "minLength": PASSWORD_MIN_LENGTH,
            "maxLength": PASSWORD_MAX_LENGTH,
            "pattern": "^[^\\u0000]*$",
        },
    ),
]
