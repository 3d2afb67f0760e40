"""The HTTP endpoint Alertmanager's webhook receiver posts to.

A small stdlib server (one thread per request): it checks the shared secret, the size and
the JSON of a notification, hands it to AlertIntakeService and answers with what happened.
Alertmanager retries anything but a 2xx, so a notification that cannot be stored now (the
database is down) gets a 503 and comes again; one that can never be stored gets a 4xx.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deskapp.domain.errors import ConfigurationError, DatabaseUnavailableError, DeskappError
from deskapp.services.intake.alerts import AlertFormatError, AlertIntakeService, IntakeResult

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Alertmanager notifications are a few KiB; a bigger body is refused unread."""
TOKEN_HEADER = "X-Deskapp-Token"
"""The secret may come in this header, or as ``Authorization: Bearer <secret>``."""


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9095`` for IPv6, ``:9095`` for loopback) as host and port.

    Raises:
        ConfigurationError: the text is not an address with a port from 0 to 65535.
    """
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigurationError(f"'{text}' is not an address to listen on; write host:port, "
                                 "such as 127.0.0.1:9095.")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AlertListener(ThreadingHTTPServer):
    """Accepts Alertmanager notifications over HTTP until ``shutdown``.

    Args:
        address: where to listen, (host, port); port 0 picks a free one (see ``port``).
        service: records the notifications.
        secret: what the sender must present; None accepts anyone who can connect, which is
            allowed on a loopback address only.
        max_body: the largest body accepted, in bytes.
        on_result: called (in the request's thread) with each stored notification's result.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: AlertIntakeService,
                 secret: str | None, *, max_body: int = MAX_BODY,
                 on_result: Callable[[IntakeResult], None] | None = None) -> None:
        if not secret and not is_loopback(address[0]):
            raise ConfigurationError(
                f"Refusing to listen on {address[0]} without a shared secret: set "
                "DESKAPP_ALERTS_SECRET or use --secret-file, or listen on 127.0.0.1.")
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        self.secret = secret.encode() if secret else None
        self.max_body = max_body
        self.on_result = on_result
        self.stored = 0
        self._count_lock = threading.Lock()
        try:
            super().__init__(address, _Handler)
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}.") from None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def authorised(self, headers: Any) -> bool | None:
        """True if the request carries the secret, False if a wrong one, None if none."""
        if self.secret is None:
            return True
        given: str | None = headers.get(TOKEN_HEADER)
        if given is None:
            auth = headers.get("Authorization", "")
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                given = value.strip()
        if given is None:
            return None
        return hmac.compare_digest(given.encode(), self.secret)

    def count(self) -> None:
        with self._count_lock:
            self.stored += 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a request's failure instead of printing a traceback to stderr.

        A sender that hangs up on a kept-alive connection (a reset, a broken pipe) is
        ordinary: one line at info level; anything else is logged with its traceback.
        """
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            log.info("%s hung up: %s", client_address[0], error)
        else:
            log.exception("Request from %s failed", client_address[0])


class _Handler(BaseHTTPRequestHandler):
    server: AlertListener
    protocol_version = "HTTP/1.1"
    server_version = "deskapp-alerts"
    # A sender that stops half-way must not hold a thread for ever.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        # A health check for load balancers and people: it says what this is, and no more.
        self._answer(HTTPStatus.OK, {"status": "ok", "accepts": "POST Alertmanager webhook"})

    def do_POST(self) -> None:
        authorised = self.server.authorised(self.headers)
        if authorised is None:
            self._refuse(HTTPStatus.UNAUTHORIZED, "The shared secret is missing: send "
                         f"'Authorization: Bearer <secret>' or '{TOKEN_HEADER}: <secret>'.",
                         {"WWW-Authenticate": 'Bearer realm="deskapp"'})
            return
        if not authorised:
            self._refuse(HTTPStatus.FORBIDDEN, "The shared secret is wrong.")
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "Send the body with a Content-Length.")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "Send the body with a Content-Length.")
            return
        length = int(length_text)
        if length > self.server.max_body:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         f"The body is {length:,} bytes; at most {self.server.max_body:,} "
                         "are accepted.")
            return
        body = self.rfile.read(length)
        try:
            result = self.server.service.receive_body(body)
        except AlertFormatError as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        except DatabaseUnavailableError as exc:
            # Alertmanager will deliver it again.
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
            return
        except DeskappError as exc:
            log.warning("alert notification refused: %s", exc)
            self._answer(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
            return
        except Exception:
            log.exception("alert notification failed")
            self._answer(HTTPStatus.INTERNAL_SERVER_ERROR,
                         {"error": "Deskapp failed to record the notification; see its log."})
            return
        self.server.count()
        if self.server.on_result is not None:
            self.server.on_result(result)
        self._answer(HTTPStatus.OK, result.as_json())

    def _refuse(self, status: HTTPStatus, reason: str,
                headers: dict[str, str] | None = None) -> None:
        # The body was not read: the connection cannot be reused for another request.
        self.close_connection = True
        self._answer(status, {"error": reason}, {"Connection": "close", **(headers or {})})

    def _answer(self, status: HTTPStatus, payload: dict[str, Any],
                headers: dict[str, str] | None = None) -> None:
        data = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
