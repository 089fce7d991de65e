"""A local fake of both chat APIs (stdlib HTTP server on 127.0.0.1, a port of its own).

It speaks OpenAI-compatible ``/v1/chat/completions`` (bearer API key) and GigaChat's
``/oauth`` token exchange plus ``/api/v1/chat/completions`` (bearer access token). Tests queue
answers (status, delay, content, usage) and read back every request and token exchange.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-test-secret-0123456789"
CREDENTIALS = "Y2xpZW50OnNlY3JldC1naWdh"  # base64 "client:secret-giga"
TOKEN = "giga-access-token-xyz-987"
SECRETS = (API_KEY, CREDENTIALS, TOKEN)


@dataclass
class Answer:
    """One scripted answer; ``usage=None`` leaves usage out of the response."""

    status: int = 200
    delay_s: float = 0.0
    content: str = "Ответ"
    usage: tuple[int, int] | None = (21, 7)


@dataclass
class FakeServer:
    url: str = ""
    script: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    token_requests: int = 0
    token_ttl_s: float = 3600.0
    oauth_status: int = 200

    def queue(self, *answers: Answer) -> None:
        self.script.extend(answers)

    @property
    def chat_requests(self) -> int:
        return len(self.requests)


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up on purpose (a timeout test): nothing to answer

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path == "/oauth":
                self._oauth(headers)
                return
            giga = self.path == "/api/v1/chat/completions"
            want = f"Bearer {TOKEN if giga else API_KEY}"
            if headers.get("authorization") != want:
                self._send(401, {"status": 401, "message": "Unauthorized"})
                return
            body = json.loads(raw)
            fake.requests.append((self.path, headers, body))
            answer = fake.script.pop(0) if fake.script else Answer()
            time.sleep(answer.delay_s)
            if answer.status != 200:
                self._send(answer.status, {"status": answer.status, "message": "scripted"})
                return
            reply: dict[str, Any] = {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": answer.content},
                        "index": 0,
                        "finish_reason": "stop",
                    }
                ],
                "created": int(time.time()),
                "model": f"{body['model']}:served",
                "object": "chat.completion",
            }
            if answer.usage is not None:
                tokens_in, tokens_out = answer.usage
                reply["usage"] = {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                }
            self._send(200, reply)

        def _oauth(self, headers: dict[str, str]) -> None:
            fake.token_requests += 1
            if fake.oauth_status != 200:
                self._send(fake.oauth_status, {"code": 7, "message": "scripted"})
                return
            if headers.get("authorization") != f"Basic {CREDENTIALS}" or "rquid" not in headers:
                self._send(401, {"code": 6, "message": "Credentials doesn't match db data"})
                return
            expires = int((time.time() + fake.token_ttl_s) * 1000)
            self._send(200, {"access_token": TOKEN, "expires_at": expires})

    return Handler


def serve() -> tuple[FakeServer, ThreadingHTTPServer]:
    """Start a fake on a free port of 127.0.0.1 (a daemon thread); stop it with
    ``httpd.shutdown(); httpd.server_close()``."""
    fake = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    return fake, httpd
