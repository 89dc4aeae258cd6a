"""Emails compare with their domain in its IDNA ASCII form after UTS #46 mapping.

``a@exämple.com``, ``a@EXÄMPLE.com`` and ``a@xn--exmple-cua.com`` become one account: the stored
``email_key`` of every account whose email is not ASCII is recomputed (an ASCII email's key does
not change). Two existing accounts that would now share a key stop the migration with the ids to
resolve; nothing is changed then.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable
from uuid import UUID

import idna
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NOT_ASCII = r"[^\x01-\x7f]"  # a PostgreSQL regular expression
_ACCOUNTS_TO_REKEY = sa.text("SELECT id, email, email_key FROM users WHERE email ~ :pattern")
_HOLDERS = sa.text(
    "SELECT id, email_key FROM users WHERE email_key = ANY(:keys) AND NOT id = ANY(:ids)"
)
# Two passes, so that a key may move to an account while another one gives it up.
_PARK = sa.text("UPDATE users SET email_key = 'rekeying:' || id::text WHERE id = ANY(:ids)")
_SET_KEY = sa.text("UPDATE users SET email_key = :key WHERE id = :id")


def idn_key(email: str) -> str:
    """``domain.users.email_key`` as of this revision (migrations never import the app's code)."""
    cleaned = unicodedata.normalize("NFC", email).strip()
    local, at, domain = cleaned.rpartition("@")
    if not at:
        return cleaned.casefold()
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (UnicodeError, ValueError):
        ascii_domain = domain.casefold()
    return f"{local.casefold()}@{ascii_domain}"


def casefold_key(email: str) -> str:
    """The rule before this revision: the whole email case-folded."""
    return unicodedata.normalize("NFC", email).strip().casefold()


def _rekey(key: Callable[[str], str], rule: str) -> None:
    connection = op.get_bind()
    rows = connection.execute(_ACCOUNTS_TO_REKEY, {"pattern": _NOT_ASCII}).all()
    changes: dict[UUID, str] = {}
    for row in rows:
        if (new_key := key(row.email)) != row.email_key:
            changes[row.id] = new_key
    if not changes:
        return
    sharing: defaultdict[str, list[UUID]] = defaultdict(list)
    for account, new_key in changes.items():
        sharing[new_key].append(account)
    for holder in connection.execute(_HOLDERS, {"keys": list(sharing), "ids": list(changes)}).all():
        sharing[holder.email_key].append(holder.id)
    collisions = [sorted(map(str, ids)) for ids in sharing.values() if len(ids) > 1]
    if collisions:
        groups = "; ".join(", ".join(ids) for ids in collisions)
        raise RuntimeError(
            f"{revision}: refusing to migrate: {len(collisions)} group(s) of accounts would share "
            f"one email once emails are compared {rule}. User ids, by group: "
            f"{groups}. Change the email of all but one account of each group (or merge them), "
            "then run the migration again. Nothing was changed."
        )
    connection.execute(_PARK, {"ids": list(changes)})
    connection.execute(_SET_KEY, [{"id": i, "key": k} for i, k in changes.items()])


def upgrade() -> None:
    _rekey(idn_key, "with their domain in its IDNA form")


def downgrade() -> None:
    _rekey(casefold_key, "case-folded as a whole (the rule before this revision)")
