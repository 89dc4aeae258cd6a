"""A stand-in for a Better Auth front end: signing keys, a JWKS served over real HTTP from a
thread of the test process, and tokens as Better Auth's ``jwt()`` plugin mints them."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, OctKey, OKPKey, RSAKey

ISSUER = "http://localhost:3000"  # what Better Auth puts in `iss` and `aud`: its origin

SigningKey = OKPKey | ECKey | RSAKey
ALGORITHM_KEYS = {"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA", "PS256": "RSA"}


def signing_key(algorithm: str = "EdDSA", kid: str | None = None) -> SigningKey:
    parameters: KeyParameters = {"kid": kid or uuid.uuid4().hex}
    if algorithm == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=parameters)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


def public_jwk(key: SigningKey, **members: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), **members}


def claims_for(subject: str, issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    """What Better Auth's ``jwt()`` plugin signs by default: the user, ``sub`` its id."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": issuer,
        "aud": issuer,
        "iat": now,
        "exp": now + 900,
        "id": subject,
        "email": f"{subject}@example.com",
        "name": f"User {subject}",
        "emailVerified": True,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def mint(
    key: SigningKey | OctKey,
    algorithm: str,
    claims: dict[str, Any],
    **header: Any,
) -> str:
    protected = {"alg": algorithm, "typ": "JWT", "kid": key.kid, **header}
    protected = {name: value for name, value in protected.items() if value is not None}
    return jwt.encode(protected, claims, key, algorithms=[algorithm])


def unsigned(claims: dict[str, Any], **header: Any) -> str:
    """An ``alg: none`` token."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', **header})}.{part(claims)}."


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class JwksServer:
    """Serves ``keys`` at ``url``; ``status`` other than 200 makes it fail, ``delay`` slow."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    cache_control: str | None = None
    raw_body: bytes | None = None  # served instead of the key set
    fetches: int = 0
    connections: int = 0

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [public_jwk(key) for key in keys]


@contextmanager
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def do_GET(self) -> None:
            state.fetches += 1
            if state.delay:
                time.sleep(state.delay)
            body = state.raw_body or json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if state.cache_control is not None:
                self.send_header("Cache-Control", state.cache_control)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up on a slow answer is what the test wanted

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unused_port_url() -> str:
    """A JWKS URL nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/auth/jwks"
