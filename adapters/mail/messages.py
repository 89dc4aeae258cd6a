"""Mail messages from the templates next to this module (``string.Template``): a plain-text
body and an HTML alternative, with everything inserted into the HTML escaped."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import quote

TEMPLATES = Path(__file__).resolve().parent / "templates"
RESET_SUBJECT = "Reset your Todo password"


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def reset_link(public_url: str, token: str) -> str:
    """Where the web app takes a reset token: ``{PUBLIC_URL}/#/reset?token=…``."""
    return f"{public_url.rstrip('/')}/#/reset?token={quote(token, safe='')}"


def password_reset_message(
    *, sender: str, to: str, name: str | None, link: str, minutes: int
) -> EmailMessage:
    values = {"greeting": name or "there", "link": link, "minutes": str(minutes)}
    message = EmailMessage()
    message["Subject"] = RESET_SUBJECT
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    text = _template("password_reset.txt").substitute(values)
    message.set_content(text, cte=_transfer_encoding(text))
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    markup = _template("password_reset.html").substitute(escaped)
    message.add_alternative(markup, subtype="html", cte=_transfer_encoding(markup))
    return message


def _transfer_encoding(body: str) -> str:
    """Lines as they are (no quoted-printable soft breaks), so the link stays whole in the raw
    message too: a reader may take the token from the ``.eml`` file as it is."""
    return "7bit" if body.isascii() else "8bit"


def _domain(address: str) -> str:
    """The sender's domain for Message-ID (never the local host name, which it would leak)."""
    return address.rpartition("@")[2].strip(" >") or "localhost"
