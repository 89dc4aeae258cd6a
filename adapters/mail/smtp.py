"""Delivery over SMTP (aiosmtplib). The URL says how: ``smtp://`` talks plain SMTP and
upgrades with STARTTLS when the server offers it, ``smtp+starttls://`` insists on STARTTLS,
``smtps://`` uses TLS from the first byte; user and password come from the URL
(``smtps://user:pass@host:465``)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

_SCHEMES = {
    # scheme: (use_tls, start_tls); None: STARTTLS when offered
    "smtp": (False, None),
    "smtp+starttls": (False, True),
    "smtps": (True, False),
}


class SmtpTransport:
    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or smtps://user:pass@host")
        self._use_tls, self._start_tls = _SCHEMES[parts.scheme]
        self._hostname = parts.hostname
        self._port = parts.port
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._hostname,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._use_tls,
            start_tls=self._start_tls,
            timeout=self._timeout,
        )


def check_smtp_url(url: str) -> str | None:
    """Why ``url`` is no usable ``SMTP_URL``, or ``None``. Never repeats the URL (it may hold
    a password)."""
    try:
        SmtpTransport(url, timeout=1)
    except ValueError as error:
        return str(error)
    return None
