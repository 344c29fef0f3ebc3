"""An OpenAI-compatible chat-completions client on the standard library (no SDK).

``ChatClient(endpoint, model, api_key)`` is a text-to-text callable: ``client(prompt) -> reply``.
:func:`from_options` fills missing options from ``A2AD_LLM_ENDPOINT``, ``A2AD_LLM_MODEL`` and
``A2AD_LLM_API_KEY``. The key is sent only in the ``Authorization`` header: it is not in
``repr``, errors, transcripts or logs. Timeouts and retries are bounded.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlparse

from .errors import InputError

ENV_ENDPOINT, ENV_MODEL, ENV_KEY = "A2AD_LLM_ENDPOINT", "A2AD_LLM_MODEL", "A2AD_LLM_API_KEY"
MAX_TIMEOUT = 600.0  # seconds per request
MAX_RETRIES = 10
BACKOFF = 0.5  # seconds, doubled per retry, capped at BACKOFF_CAP
BACKOFF_CAP = 8.0
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class LLMError(InputError):
    """The model service failed (status, unreachable, or an unexpected response)."""


@dataclass
class ChatClient:
    endpoint: str  # base URL, e.g. https://api.openai.com/v1 (``/chat/completions`` is appended)
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    retries: int = 2
    temperature: float | None = None  # None: the service default (some models accept only that)
    sleep: object = field(default=time.sleep, repr=False)  # injectable for tests

    def __post_init__(self):
        url = urlparse(self.endpoint or "")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InputError("LLM endpoint", self.endpoint, f"must be an http(s) URL (option --endpoint or {ENV_ENDPOINT})")
        if not self.model:
            raise InputError("LLM model", self.model, f"must be given (option --model or {ENV_MODEL})")
        if not (0 < float(self.timeout) <= MAX_TIMEOUT):
            raise InputError("LLM timeout", self.timeout, f"must be in (0, {MAX_TIMEOUT:g}] seconds")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or not 0 <= self.retries <= MAX_RETRIES:
            raise InputError("LLM retries", self.retries, f"must be an integer in [0, {MAX_RETRIES}]")

    @property
    def url(self) -> str:
        return self.endpoint.rstrip("/") + "/chat/completions"

    def _redact(self, text: str) -> str:
        return text.replace(self.api_key, "[redacted]") if self.api_key else text

    def __call__(self, prompt: str) -> str:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}]}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(min(BACKOFF * 2 ** (attempt - 1), BACKOFF_CAP))
            request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return self._content(response.read())
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                last = f"HTTP {exc.code} ({self._redact(detail)})"
                if exc.code not in RETRY_STATUS:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"unreachable ({self._redact(str(getattr(exc, 'reason', exc)))})"
        raise LLMError("LLM request", self.url, f"failed after {attempt + 1} attempt(s): {last}")

    def _content(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError("LLM response", self._redact(raw[:200].decode("utf-8", "replace")),
                           "is not a chat-completions answer (choices[0].message.content)") from None
        if not isinstance(content, str):
            raise LLMError("LLM response content", content, "must be text")
        return content


def from_options(endpoint: str | None = None, model: str | None = None, api_key: str | None = None,
                 **kwargs) -> ChatClient:
    """A client from explicit options, falling back to the environment variables."""
    return ChatClient(endpoint or os.environ.get(ENV_ENDPOINT, ""), model or os.environ.get(ENV_MODEL, ""),
                      api_key if api_key is not None else os.environ.get(ENV_KEY, ""), **kwargs)
