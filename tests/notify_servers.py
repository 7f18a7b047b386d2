"""Real receivers for notification tests: an aiosmtpd SMTP server and a webhook receiver, both on loopback.

The webhook receiver verifies every request with standardwebhooks' own `Webhook.verify` (the code a
customer would run), so a test asserts what a real receiver would accept, not what Beacon thinks it sent.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from standardwebhooks import Webhook, WebhookVerificationError

from tests.servers import free_port


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return str(part.get_content())
        raise AssertionError(f"no {content_type} part in {self.message.get_content_type()} message")


class _SmtpHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpSink:
    """aiosmtpd on a free loopback port; `refuse` holds addresses answered with 550."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        # A Controller cannot be restarted; an "outage" is a stop and a new one on the same port.
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class ReceivedHook:
    headers: dict[str, str]
    body: bytes
    path: str
    verified: Any = None  # the parsed JSON when verification passed
    verify_error: str = ""


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        hook = ReceivedHook(headers=headers, body=body, path=self.path)
        if receiver.secret:
            try:
                hook.verified = Webhook(receiver.secret).verify(body, headers)
            except WebhookVerificationError as exc:
                hook.verify_error = str(exc)
        with receiver.lock:
            receiver.requests.append(hook)
            reply = receiver.replies.pop(0) if receiver.replies else Reply()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class WebhookReceiver:
    """An HTTP server on a free loopback port answering scripted replies (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[ReceivedHook] = []
        self.replies: list[Reply] = []
        self.secret = ""
        self.lock = threading.Lock()
        self._server = _HookServer(("127.0.0.1", 0), _HookHandler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/beacon"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
