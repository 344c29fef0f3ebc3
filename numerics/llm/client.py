"""An OpenAI-compatible chat-completions client on the standard library (no SDK).

``ChatClient(endpoint, model, api_key)`` is a text-to-text callable: ``client(prompt) -> reply``.
:func:`from_options` fills missing options from ``A2AD_LLM_ENDPOINT``, ``A2AD_LLM_MODEL`` and
``A2AD_LLM_API_KEY``.

Guarantees (README "LLM runs"):

- The key is sent only in the ``Authorization`` header of a POST to the configured
  endpoint. Redirects are never followed (a 3xx is an error), so the header never goes
  to another origin. Surrounding whitespace is stripped from the key; a key with control
  characters inside is refused without being printed. The key is not in ``repr``; every
  text that leaves the client (the reply itself, error bodies, exception texts) is redacted
  in every form the key could be printed in (raw, escaped, ``repr``, base64,
  percent-encoded) *before* it is shortened.
- ``timeout`` bounds each request's *total* time (connect, headers, body, slow drip
  included, whatever the HTTP version or ``Connection`` header): a watchdog shuts the
  socket at the deadline. An optional run ``deadline``
  (``time.monotonic()`` value) bounds all requests and back-offs together.
- The body is read up to :data:`MAX_BODY_BYTES`; a larger one is refused.
- Broken HTTP (``IncompleteRead``, ``BadStatusLine``, ``LineTooLong``, resets) is an
  :class:`LLMError` (one line), retried like network errors.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, quote_plus, urlparse

from numerics.io.errors import InputError, ServiceError

ENV_ENDPOINT, ENV_MODEL, ENV_KEY = "A2AD_LLM_ENDPOINT", "A2AD_LLM_MODEL", "A2AD_LLM_API_KEY"
MAX_TIMEOUT = 600.0  # seconds per request
MAX_RETRIES = 10
BACKOFF = 0.5  # seconds, doubled per retry, capped at BACKOFF_CAP
BACKOFF_CAP = 8.0
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_BODY_BYTES = 4 * 2**20  # a chat reply is a few kB; 4 MiB bounds memory whatever the server sends
DETAIL_CHARS = 300  # of an error body, after redaction
REDACTED = "[redacted]"


class LLMError(ServiceError):
    """The model service failed (status, unreachable, or an unexpected response): not bad input."""


class _Failure(Exception):
    """One failed attempt: ``text`` is already redacted; ``retry`` says whether to try again."""

    def __init__(self, text: str, retry: bool):
        super().__init__(text)
        self.text, self.retry = text, retry


def _clean_key(key) -> str:
    """The key without surrounding whitespace (a trailing newline from a file or ``echo``); a key with
    control characters inside would corrupt the header, so it is refused without being printed."""
    if not isinstance(key, str):
        raise InputError("LLM API key", REDACTED, f"must be text (option --api-key or {ENV_KEY})")
    key = key.strip()
    bad = [ch for ch in key if ord(ch) < 32 or ord(ch) == 127 or not ch.isprintable()]
    if bad:
        raise InputError("LLM API key", REDACTED, f"contains {len(bad)} control or non-printable character(s) "
                         f"(option --api-key or {ENV_KEY}); the key is not shown")
    return key


def _key_forms(key: str) -> list[str]:
    """Every printed form of ``key`` that a library or an error text could produce, longest first."""
    if not key:
        return []
    raw = key.encode("utf-8")
    forms = {key, repr(key)[1:-1], key.encode("unicode_escape").decode("ascii"), repr(raw)[2:-1],
             base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii"),
             base64.b64encode(raw).decode("ascii").rstrip("="), quote(key, safe=""), quote_plus(key),
             base64.b64encode(f"Bearer {key}".encode()).decode("ascii").rstrip("=")}
    return sorted((f for f in forms if f), key=len, reverse=True)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class ChatClient:
    endpoint: str  # base URL, e.g. https://api.openai.com/v1 (``/chat/completions`` is appended)
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    retries: int = 2
    temperature: float | None = None  # None: the service default (some models accept only that)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)  # injectable for tests
    deadline: float | None = field(default=None, repr=False)  # time.monotonic() by which the whole run must end

    def __post_init__(self):
        self.api_key = _clean_key(self.api_key)
        url = urlparse(self.endpoint or "")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InputError("LLM endpoint", self.redact(str(self.endpoint)),
                             f"must be an http(s) URL (option --endpoint or {ENV_ENDPOINT})")
        try:
            url.port
        except ValueError:
            raise InputError("LLM endpoint", self.redact(self.endpoint), "has an invalid port") from None
        if not self.model:
            raise InputError("LLM model", self.model, f"must be given (option --model or {ENV_MODEL})")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) \
                or not (0 < float(self.timeout) <= MAX_TIMEOUT):
            raise InputError("LLM timeout", self.timeout, f"must be in (0, {MAX_TIMEOUT:g}] seconds")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or not 0 <= self.retries <= MAX_RETRIES:
            raise InputError("LLM retries", self.retries, f"must be an integer in [0, {MAX_RETRIES}]")

    @property
    def url(self) -> str:
        return self.endpoint.rstrip("/") + "/chat/completions"

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced, in every form it could be printed in
        (raw, escaped, ``repr``, base64, percent-encoded); always before any shortening."""
        for form in _key_forms(self.api_key):
            text = text.replace(form, REDACTED)
        return text

    _redact = redact  # older name

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def __call__(self, prompt: str) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": prompt}]}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        data = json.dumps(body).encode()
        last, attempt = "", 0
        for attempt in range(self.retries + 1):
            if attempt:
                pause = min(BACKOFF * 2 ** (attempt - 1), BACKOFF_CAP)
                left = self._remaining()
                if left is not None and left <= pause:
                    last += "; the run --deadline leaves no time to retry"
                    break
                self.sleep(pause)
            left = self._remaining()
            if left is not None and left <= 0:
                last = last or "the run --deadline has passed"
                break
            budget = self.timeout if left is None else min(self.timeout, left)
            try:
                return self.redact(self._content(self._post(data, budget)))
            except _Failure as exc:
                last = exc.text
                if not exc.retry:
                    break
        raise LLMError("LLM request", self.redact(self.url), f"failed after {attempt + 1} attempt(s): {last}")

    def _post(self, data: bytes, budget: float) -> bytes:
        """One POST with a total deadline of ``budget`` seconds; the 2xx body, else :class:`_Failure`."""
        url = urlparse(self.url)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        host = url.hostname or ""  # never empty: the constructor checked the URL
        conn: http.client.HTTPConnection
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(host, url.port, timeout=budget,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, url.port, timeout=budget)
        expired = threading.Event()
        held: list = []  # the connected socket: a response that will close (HTTP/1.0, Connection: close)
        # takes it over and sets conn.sock to None, so the watchdog must not look it up there

        def cut():  # the watchdog: the total deadline, whatever the server's pace or HTTP version
            expired.set()
            for sock in held + [conn.sock]:
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        timer = threading.Timer(budget, cut)
        timer.daemon = True
        timer.start()
        try:
            conn.connect()
            held.append(conn.sock)
            if expired.is_set():  # the deadline passed while connecting
                raise _Failure(f"timed out: no complete response within {budget:g} s", retry=True)
            conn.request("POST", path, body=data, headers=headers)
            response = conn.getresponse()
            status = response.status
            if 300 <= status < 400:
                raise _Failure(f"HTTP {status} redirect refused (redirects are never followed, so the key "
                               "goes only to the configured endpoint)", retry=False)
            length = response.getheader("Content-Length")
            if length and length.strip().isdigit() and int(length) > MAX_BODY_BYTES:
                raise _Failure(f"response body of {int(length)} bytes exceeds the limit of {MAX_BODY_BYTES}",
                               retry=False)
            raw = self._read_capped(response)
            if expired.is_set():  # the watchdog cut the body short
                raise _Failure(f"timed out: no complete response within {budget:g} s", retry=True)
            if length and length.strip().isdigit() and len(raw) != int(length):
                raise _Failure(f"broken HTTP (IncompleteRead: {len(raw)} of {int(length)} bytes)", retry=True)
            if not 200 <= status < 300:
                detail = _one_line(self.redact(raw.decode("utf-8", "replace")), DETAIL_CHARS)
                raise _Failure(f"HTTP {status} ({detail})", retry=status in RETRY_STATUS)
            return raw
        except _Failure:
            raise
        except (http.client.HTTPException, OSError, ValueError) as exc:
            if expired.is_set():
                raise _Failure(f"timed out: no complete response within {budget:g} s", retry=True) from None
            text = _one_line(self.redact(f"{type(exc).__name__}: {exc}"), DETAIL_CHARS)
            raise _Failure(f"unreachable or broken HTTP ({text})", retry=True) from None
        finally:
            timer.cancel()
            conn.close()

    def _read_capped(self, response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read(min(65536, MAX_BODY_BYTES + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _Failure(f"response body exceeds the limit of {MAX_BODY_BYTES} bytes", retry=False)

    def _content(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            text = _one_line(self.redact(raw.decode("utf-8", "replace")), 200)
            raise LLMError("LLM response", text,
                           "is not a chat-completions answer (choices[0].message.content)") from None
        if not isinstance(content, str):
            raise LLMError("LLM response content", _one_line(self.redact(repr(content)), 200), "must be text")
        return content


def from_options(endpoint: str | None = None, model: str | None = None, api_key: str | None = None,
                 **kwargs) -> ChatClient:
    """A client from explicit options, falling back to the environment variables."""
    return ChatClient(endpoint or os.environ.get(ENV_ENDPOINT, ""), model or os.environ.get(ENV_MODEL, ""),
                      api_key if api_key is not None else os.environ.get(ENV_KEY, ""), **kwargs)
