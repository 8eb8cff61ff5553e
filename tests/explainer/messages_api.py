"""A local stand-in for Anthropic's Messages API (``POST /v1/messages``) on 127.0.0.1.

It speaks the wire format the anthropic SDK expects, a message with text content and usage,
or an error body with a status, and answers as its ``behaviour`` says: a narrative written
from the evidence it was sent, a narrative with an invented figure, a 529 overload, or a
reply slower than the client's timeout. Every request is recorded for the tests to inspect.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXPOSURE_LINE = r"^1\. (direct|indirect) exposure to ([a-z ]+):.*?share of value: ([\d.]+%)"
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    text: str = ""
    delay_s: float = 0.0
    stop_reason: str = "end_turn"


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def api_key(self) -> str | None:
        """The key the client sent: ``x-api-key``, or a bearer token (SDKs differ)."""
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or bearer.removeprefix("Bearer ") or None

    @property
    def evidence(self) -> str:
        content = self.body["messages"][0]["content"]
        match = re.search(r"<evidence>\n(.*)\n</evidence>", content, re.DOTALL)
        assert match, "the prompt carries the evidence between <evidence> tags"
        return match.group(1)


def _field(evidence: str, name: str) -> str:
    match = re.search(rf"^{name}: (.*)$", evidence, re.MULTILINE)
    assert match, f"evidence has no {name!r} line"
    return match.group(1)


def faithful(evidence: str) -> str:
    """A narrative that cites only the evidence, rephrased as a writer would."""
    band = _field(evidence, "band").split(";")[0]
    text = (
        f"Transaction {_field(evidence, 'txid')} received a risk score of "
        f"{_field(evidence, 'risk score')} and was placed in band {band} by the "
        f"{_field(evidence, 'deciding tier')} tier. It sent {_field(evidence, 'value out')}."
    )
    rule = re.search(EXPOSURE_LINE, evidence, re.MULTILINE)
    if rule:
        text += f" {rule.group(3)} of its value had {rule.group(1)} exposure to {rule.group(2)}."
    top = re.search(r"^1\. (.+): ([+-][\d.]+) log-odds", evidence, re.MULTILINE)
    if top:
        text += f" The largest model contribution was {top.group(1)}, {top.group(2)} in log-odds."
    return text


def behave(make: Callable[[str], Reply]) -> Callable[[Recorded], Reply]:
    return lambda request: make(request.evidence)


FAITHFUL = behave(lambda evidence: Reply(text=faithful(evidence)))
INVENTED_AMOUNT = behave(
    lambda evidence: Reply(text=faithful(evidence) + " Another 12.3456 BTC left the same day.")
)
INVENTED_ADDRESS = behave(
    lambda evidence: Reply(
        text=faithful(evidence) + " Funds were then forwarded to "
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4."
    )
)
OVERLOADED = behave(lambda evidence: Reply(status=529))


def slow(delay_s: float) -> Callable[[Recorded], Reply]:
    return behave(lambda evidence: Reply(text=faithful(evidence), delay_s=delay_s))


@dataclass
class MessagesAPI:
    behaviour: Callable[[Recorded], Reply] = FAITHFUL
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MessagesAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                if self.path != "/v1/messages":
                    self._send(404, {"type": "error", "error": {"type": "not_found_error"}})
                    return
                request = Recorded({k.lower(): v for k, v in self.headers.items()}, body)
                api.requests.append(request)
                if request.api_key is None:
                    self._send(401, api.body(Reply(status=401), body))
                    return
                reply = api.behaviour(request)
                if reply.delay_s and api._stopping.wait(reply.delay_s):
                    return
                self._send(reply.status, api.body(reply, body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        if reply.status != 200:
            error = ERROR_TYPES.get(reply.status, "api_error")
            return {"type": "error", "error": {"type": error, "message": "Overloaded"}}
        return {
            "id": f"msg_local_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": len(json.dumps(request)) // 4,
                "output_tokens": len(reply.text) // 4,
            },
        }
