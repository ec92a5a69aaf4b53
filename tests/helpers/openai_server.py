"""A scripted OpenAI-compatible ``/v1/chat/completions`` (and ``/v1/completions``) server on 127.0.0.1, for tests
(no model).

Each request takes the next action of ``script``; when the script is used up, ``default`` applies to every
further request. Actions:

- ``200``: a chat completion (``n`` choices, listed in reverse index order; choice 0 finishes with "stop",
  the others with "length"; ``usage.completion_tokens = 5 * n``); the text of choice ``i`` is
  ``content(body, i)`` (default ``"answer <i>"``). ``finish="stop"`` makes every choice finish with "stop".
- another int (``500``, ``503``, ``429``, ``400``): that HTTP status with an OpenAI-style error body.
- ``"malformed"``: status 200 with a body that is not JSON (a JSON object cut off).
- ``"wrong_shape"``: status 200 with JSON that is not a chat completion (no ``choices``).
- ``"hang"``: answer after ``hang_s`` seconds (longer than the client's timeout).
- ``"drop"``: close the connection without answering.

A request to ``/v1/completions`` (a text prompt) gets the same answers in that endpoint's shape (``choices[].text``).
``delay_s`` slows every answer (so that a test can kill its client midway). ``requests`` records each
request's JSON body, Authorization header and path. Used by tests/unit/test_generation*.py and the reliability
and security integration tests; a URL where nothing listens is ``tests.helpers.net.closed_port_url``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = int | str


def default_content(body: dict[str, Any], index: int) -> str:
    return f"answer {index}"


class ScriptedServer:
    """See the module docstring."""

    def __init__(
        self,
        script: Iterable[Action] = (),
        default: Action = 200,
        content: Callable[[dict[str, Any], int], str] = default_content,
        delay_s: float = 0.0,
        hang_s: float = 5.0,
        finish: str | None = None,
    ):
        self.script, self.default, self.content, self.finish = list(script), default, content, finish
        self.delay_s, self.hang_s = delay_s, hang_s
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append({"body": body, "auth": self.headers.get("Authorization"), "path": self.path})
                    action = server.script.pop(0) if server.script else server.default
                if server.delay_s:
                    time.sleep(server.delay_s)
                if action == "drop":
                    self.close_connection = True
                    return
                if action == "hang":
                    time.sleep(server.hang_s)
                    action = 200
                status, data = server._answer(action, body, chat=self.path.endswith("/chat/completions"))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout) or was killed
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _answer(self, action: Action, body: dict[str, Any], chat: bool = True) -> tuple[int, bytes]:
        if action == "malformed":
            return 200, b'{"id": "c", "choices": [{"index": 0, "message": {"role": "assist'
        if action == "wrong_shape":
            return 200, json.dumps({"status": "ok", "detail": "not a chat completion"}).encode()
        if action != 200:
            payload = {"error": {"message": f"scripted {action}", "type": "x", "code": action}}
            return int(action), json.dumps(payload).encode()
        n = body.get("n", 1)

        def choice(i: int) -> dict[str, Any]:
            text = self.content(body, i)
            out: dict[str, Any] = {"index": i, "finish_reason": self.finish or ("length" if i else "stop")}
            out.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            return out

        payload = {
            "id": "c",
            "object": "chat.completion" if chat else "text_completion",
            "created": 0,
            "model": body["model"],
            "choices": [choice(i) for i in reversed(range(n))],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5 * n, "total_tokens": 3 + 5 * n},
        }
        return 200, json.dumps(payload).encode()

    def set(self, script: Iterable[Action] = (), default: Action | None = None) -> None:
        """Replace the script (and the default action) of a running server."""
        with self._lock:
            self.script = list(script)
            if default is not None:
                self.default = default

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
