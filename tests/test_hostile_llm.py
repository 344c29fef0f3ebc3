"""Hostile cases of the second round for the chat client and the reply parser: keys with whitespace
or control characters, every printed form of the key, servers that close the connection and drip
their body (HTTP/1.0, ``Connection: close``), and replies holding a huge number."""
import base64
import json
import time
from urllib.parse import quote

import pytest

from chat_server import ChatServer
from numerics.io.errors import InputError
from numerics.llm import client as llm_client, text_protocol
from test_io_security import (
    CONFIG,
    SECRET,
    SLACK,
    leaks,
    llm_args,
    one_line_error,
    run_cli,
    test_timeout_is_a_deadline_for_the_whole_request as deadline_holds,
)


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(CONFIG))
    return path


# --- the key ----------------------------------------------------------------------------------


def test_a_key_with_a_trailing_newline_is_sent_stripped(tmp_path, capsys, cfg, monkeypatch):
    server = ChatServer(lambda p, n, local: local(p))
    try:
        monkeypatch.setenv(llm_client.ENV_KEY, SECRET + "\n")
        code, _, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", server.url, "--turns", "2"))
        assert code == 0, err
        assert set(server.auth) == {f"Bearer {SECRET}"}
    finally:
        server.close()


@pytest.mark.parametrize("inner", ["\r\n", "\n", "\r", "\x00", "\x7f", "\u2028"])
def test_a_key_with_inner_control_characters_is_refused_unprinted(tmp_path, capsys, cfg, monkeypatch, inner):
    """Was: ``Invalid header value b'Bearer sk-...\\r\\n...'`` echoed the key in full."""
    key = SECRET[:12] + inner + SECRET[12:]
    if "\x00" not in key:  # an environment variable cannot hold a NUL byte; the API can
        monkeypatch.setenv(llm_client.ENV_KEY, key)
        code, out, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", "http://127.0.0.1:9/v1", "--turns", "2"))
        assert "LLM API key" in one_line_error(code, err)
        assert not leaks(err + out) and not leaks(err.replace("\\", ""))
    with pytest.raises(InputError) as caught:
        llm_client.ChatClient("http://127.0.0.1:9/v1", "m", key)
    assert not leaks(str(caught.value))


FORMS = {
    "raw": lambda k: k, "repr": repr, "bytes repr": lambda k: repr(k.encode()),
    "escaped": lambda k: k.encode("unicode_escape").decode(),
    "base64": lambda k: base64.b64encode(k.encode()).decode(),
    "base64 unpadded": lambda k: base64.b64encode(k.encode()).decode().rstrip("="),
    "urlsafe base64": lambda k: base64.urlsafe_b64encode(k.encode()).decode(),
    "percent-encoded": lambda k: quote(k, safe=""),
    "bearer base64": lambda k: base64.b64encode(f"Bearer {k}".encode()).decode(),
}
ODD_KEY = "sk-t/e+s=t key+é-0123456789"  # characters that base64, repr and percent-encoding all change


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_printed_form_of_the_key_is_redacted(form):
    client = llm_client.ChatClient("http://127.0.0.1:9/v1", "m", ODD_KEY)
    printed = FORMS[form](ODD_KEY)
    text = client.redact(f"error: header {printed} refused")
    assert printed not in text and llm_client.REDACTED in text



def test_raw_only_redaction_would_leak_the_encoded_forms(monkeypatch):
    """Power: with the first round's raw-only redaction, the encoded forms pass through."""
    monkeypatch.setattr(llm_client, "_key_forms", lambda key: [key])
    client = llm_client.ChatClient("http://127.0.0.1:9/v1", "m", ODD_KEY)
    passed = [f for f, show in FORMS.items() if show(ODD_KEY) in client.redact(show(ODD_KEY))]
    assert {"base64", "percent-encoded", "escaped"} <= set(passed)


# --- the deadline whatever the HTTP version ------------------------------------------------------

def drip_http10(conn, stop):
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")  # read to close
    while not stop.is_set():
        conn.sendall(b" ")
        time.sleep(0.1)


def drip_close(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b" ")
        time.sleep(0.1)


@pytest.mark.parametrize("handler", [drip_http10, drip_close], ids=["http10", "connection-close"])
def test_timeout_holds_when_the_response_takes_the_socket(handler):
    """Was: after getresponse() the response owns the socket, conn.sock is None and the watchdog
    found nothing to shut: ``llm-run --timeout 2`` hung for as long as the server dripped."""
    deadline_holds(handler)


# --- replies holding huge numbers ------------------------------------------------------------

HUGE_DIGITS = 400_000  # the "hundreds of kB of digits"
PARSE_BOUND = 1.0  # seconds for a 400 kB reply; the super-linear regex took 12 s on 20 kB


@pytest.mark.parametrize("reply", [
    "w = [" + "1" * HUGE_DIGITS + "x, 2]", "w = [" + "9" * HUGE_DIGITS + ", 2]",
    "w = [1." + "5" * HUGE_DIGITS + "e, 2]", "w = [" + "1" * HUGE_DIGITS + "]" + " [1, 2" * 10000,
])
def test_a_huge_number_is_refused_in_linear_time(reply):
    start = time.monotonic()
    with pytest.raises(text_protocol.ReplyError):
        text_protocol.parse_vector(reply, 2)
    assert time.monotonic() - start < PARSE_BOUND


def test_the_number_pattern_is_linear_and_the_old_one_was_not():
    """Power: the first round's pattern takes about n^2 steps on digits followed by a letter."""
    import re
    old = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
    text = "1" * 6000 + "x"
    start = time.monotonic()
    assert re.fullmatch(text_protocol.NUMBER, text) is None
    new_time = time.monotonic() - start
    start = time.monotonic()
    assert re.fullmatch(old, text) is None
    assert time.monotonic() - start > 20 * new_time


def test_llm_run_with_huge_numbers_ends_within_its_timeout(tmp_path, capsys, cfg):
    server = ChatServer(lambda p, n, local: "w = [" + "7" * HUGE_DIGITS + ", 1]")
    try:
        start = time.monotonic()
        code, _, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", server.url, "--turns", "2",
                                                "--timeout", "5", "--deadline", "10"))
        assert code == 2 and "characters" in one_line_error(code, err)
        assert time.monotonic() - start < 10 + SLACK
        assert len(err) < 2000
    finally:
        server.close()


