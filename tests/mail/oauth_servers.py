"""What the OAuth2 mail tests stand up on 127.0.0.1 besides Dovecot.

- `TestCA`: a certificate authority and a server certificate for 127.0.0.1 / localhost, made
  with `cryptography`, for Dovecot's TLS and STARTTLS and for the HTTPS token endpoints.
- `Introspection`: the token-introspection endpoint (RFC 7662, POST) Dovecot's oauth2 passdb
  asks about each token: `issue(user)` makes a token, `revoke(token)` makes it inactive.
- `TokenEndpoints`: HTTPS doubles of Microsoft's sign-in (the tenant's OpenID metadata and the
  client-credentials token endpoint) and Google's token URI (the service account's signed JWT
  checked with its public key); each token they hand out is one the introspection knows.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TestCA:
    """A CA (ca.pem) and a server certificate signed by it (server.pem, server.key)."""

    __test__ = False  # not a test class

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        ca_key = _key()
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contactbot test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        server_key = _key()
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(_pem_key(server_key))
        self.key_file.chmod(0o600)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


Route = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


class _Server:
    """A threaded HTTP(S) server on 127.0.0.1 answering JSON from `route(path, form)`."""

    def __init__(self, route: Route, context: ssl.SSLContext | None = None) -> None:
        route_ = route

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, form: dict[str, str]) -> None:
                status, body = route_(self.path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                self._answer(dict(parse_qsl(raw, keep_blank_values=True)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if context is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Introspection:
    """Dovecot's token introspection: which tokens are active, and for whom."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    revoked: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)  # every token Dovecot asked about
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Introspection:
        self.server = _Server(self._route)
        return self

    @property
    def url(self) -> str:
        return f"{self.server.base}/introspect"

    def issue(self, user: str) -> str:
        token = "tok-" + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = user
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self.revoked.add(token)

    def _route(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("token", "")
        with self._lock:
            self.asked.append(token)
            user = self.tokens.get(token)
            if user is None or token in self.revoked:
                return 200, {"active": False}
        return 200, {"active": True, "username": user, "scope": "imap"}


class TokenEndpoints:
    """HTTPS doubles of Microsoft's and Google's token endpoints (see the module doc)."""

    TENANT = "contoso-tenant"
    CLIENT_ID = "app-client-id"
    CLIENT_SECRET = "app-client-secret-value"

    def __init__(self, ca: TestCA, introspection: Introspection) -> None:
        self.introspection = introspection
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.mailbox_for_app = ""  # the mailbox the app registration may open
        self.expires_in = 3599  # seconds, as the endpoints say of each token
        self.google_key = _key()
        self.server = _Server(self._route, ca.server_context())

    @property
    def authority(self) -> str:
        return self.server.base

    @property
    def google_token_uri(self) -> str:
        return f"{self.server.base}/google/token"

    def service_account_info(self, email: str = "logger@project.iam.gserviceaccount.com") -> dict:
        return {
            "type": "service_account",
            "project_id": "project",
            "private_key_id": "key-1",
            "private_key": _pem_key(self.google_key).decode(),
            "client_email": email,
            "client_id": "1234567890",
            "token_uri": self.google_token_uri,
        }

    def token_requests(self, prefix: str) -> list[dict[str, str]]:
        return [form for path, form in self.requests if path.startswith(prefix)]

    def _route(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, form))
        tenant = f"/{self.TENANT}"
        if path == f"{tenant}/v2.0/.well-known/openid-configuration":
            base = f"{self.server.base}{tenant}"
            return 200, {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0",
            }
        if path == f"{tenant}/oauth2/v2.0/token":
            return self._microsoft(form)
        if path == "/google/token":
            return self._google(form)
        return 404, {"error": "not_found"}

    def _microsoft(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.CLIENT_ID or form.get("client_secret") != (
            self.CLIENT_SECRET
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        if form.get("scope") != "https://outlook.office365.com/.default":
            return 400, {"error": "invalid_scope", "error_description": form.get("scope", "")}
        token = self.introspection.issue(self.mailbox_for_app)
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}

    def _google(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        import jwt

        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.google_key.public_key(),
                algorithms=["RS256"],
                # google-auth signs for Google's endpoint whatever the token_uri is
                audience="https://oauth2.googleapis.com/token",
            )
        except jwt.PyJWTError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}
        if claims.get("scope") != "https://mail.google.com/" or not claims.get("sub"):
            return 400, {"error": "invalid_scope", "error_description": "wrong scope"}
        token = self.introspection.issue(claims["sub"])
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def stop(self) -> None:
        self.server.stop()
