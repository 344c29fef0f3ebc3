"""Hostile servers and careless paths (issue: no leaked key, no hang, no lost result).

Every server here listens on 127.0.0.1 on a free port chosen by the OS. The HTTP ones
answer like a chat-completions service; the raw ones write whatever bytes a broken or
hostile server might.
"""
import json
import socket
import threading
import time

import numpy as np
import pytest

from chat_server import ChatServer
from numerics.io import transcripts
from numerics.llm import client as llm_client
from proofs_check.cli import main as cli

SECRET = "sk-test-SECRET-0123456789abcdef"
# A leak is any run of this many consecutive characters of the key (the issue saw "sk-test-SECR").
LEAK_CHARS = 6
CONFIG = {"agents": [
    {"name": "A", "prompt": {"X": [[1, 0], [0, 1], [1, 1]], "y": [1, 2, 3.2]}},
    {"name": "B", "prompt": {"X": [[2, 0], [0, 1], [1, -1]], "y": [-1, 0.5, -0.3]}}]}
# Wall-clock slack for thread start-up and a loaded 2-core machine.
SLACK = 2.0


def leaks(text: str) -> bool:
    return any(SECRET[i:i + LEAK_CHARS] in text for i in range(len(SECRET) - LEAK_CHARS + 1))


class RawServer:
    """Accepts connections and hands each socket to ``handler(conn)`` (any bytes, any pace)."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.handler, self.stop = handler, threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            self._read_request(conn)  # all of it: closing on unread data would reset the connection
            self.handler(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(CONFIG))
    return path


def run_cli(capsys, argv):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def llm_args(cfg, out, url, *extra):
    return ["llm-run", str(cfg), "--out", str(out), "--endpoint", url, "--model", "m", *extra]


# --- the key ----------------------------------------------------------------------------------

def test_redirect_is_not_followed_and_the_key_goes_nowhere_else(tmp_path, capsys, cfg, monkeypatch):
    """Was: a 302 to another port received the Authorization header six times, exit 0."""
    other = ChatServer(lambda p, n, local: local(p))
    first = ChatServer(lambda p, n, local: (302, "moved", {"Location": other.url + "/chat/completions"}))
    try:
        monkeypatch.setenv(llm_client.ENV_KEY, SECRET)
        code, out, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", first.url, "--turns", "3"))
        assert "redirect" in one_line_error(code, err) and not leaks(err)
        assert other.requests == 0 and first.requests == 1  # not followed, not retried
        assert first.auth == [f"Bearer {SECRET}"]
    finally:
        first.close()
        other.close()


def test_a_reply_echoing_the_key_is_redacted_in_the_transcript(tmp_path, capsys, cfg, monkeypatch):
    """Was: meta.reply held the key verbatim."""
    server = ChatServer(lambda p, n, local: f"my key is {SECRET}. " + local(p))
    try:
        monkeypatch.setenv(llm_client.ENV_KEY, SECRET)
        out = tmp_path / "t.jsonl"
        code, stdout, err = run_cli(capsys, llm_args(cfg, out, server.url, "--turns", "3"))
        assert code == 0, err
        text = out.read_text()
        assert "[redacted]" in text and not leaks(text + stdout + err)
        assert "[redacted]" in transcripts.read(out).records[0].meta["reply"]
    finally:
        server.close()


def test_an_unreadable_reply_echoing_the_key_is_redacted_on_stderr(tmp_path, capsys, cfg, monkeypatch):
    """Was: a reply with no vector printed the key on stderr."""
    server = ChatServer(lambda p, n, local: f"I will not answer, but here is {SECRET}")
    try:
        monkeypatch.setenv(llm_client.ENV_KEY, SECRET)
        code, _, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", server.url, "--turns", "2"))
        assert "unreadable" in one_line_error(code, err) and not leaks(err)
    finally:
        server.close()


def test_error_body_with_the_key_at_every_cut_position_never_leaks():
    """Was: redaction ran after the 300-character cut, so 'sk-test-SECR' leaked.

    The key is placed at every offset around the cut (and well before it)."""
    offsets = list(range(0, llm_client.DETAIL_CHARS + 2))
    server = ChatServer(lambda p, n, local: (400, "x" * offsets[n - 1] + SECRET + "y" * 50, {}))
    try:
        client = llm_client.ChatClient(server.url, "m", SECRET, timeout=5, retries=0)
        for k in offsets:
            with pytest.raises(llm_client.LLMError) as err:
                client("prompt")
            assert "HTTP 400" in str(err.value) and not leaks(str(err.value)), k
        assert server.requests == len(offsets)
    finally:
        server.close()


def test_redaction_happens_before_shortening_in_every_client_text():
    """Planted wrong variant: cut first, then redact; the same check must see the leak."""
    client = llm_client.ChatClient("http://127.0.0.1:9", "m", SECRET)
    bodies = ["x" * k + SECRET for k in range(llm_client.DETAIL_CHARS + 2)]
    right = [llm_client._one_line(client.redact(b), llm_client.DETAIL_CHARS) for b in bodies]
    wrong = [client.redact(llm_client._one_line(b, llm_client.DETAIL_CHARS)) for b in bodies]
    assert not any(map(leaks, right)) and any(map(leaks, wrong))


# --- time and memory --------------------------------------------------------------------------

def drip_body(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b"x")
        time.sleep(0.1)


def drip_headers(conn, stop):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10000:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


@pytest.mark.parametrize("handler", [drip_body, drip_headers], ids=["body", "headers"])
def test_timeout_is_a_deadline_for_the_whole_request(handler):
    """Was: --timeout 2 against one byte per second hung until killed at 90 s."""
    server = RawServer(handler)
    try:
        client = llm_client.ChatClient(server.url, "m", SECRET, timeout=1.0, retries=0)
        start = time.monotonic()
        with pytest.raises(llm_client.LLMError, match="timed out"):
            client("prompt")
        assert time.monotonic() - start < 1.0 + SLACK
    finally:
        server.close()


def test_run_deadline_keeps_finished_messages(tmp_path, capsys, cfg):
    slow = ChatServer(lambda p, n, local: (time.sleep(0.15), local(p))[1])
    try:
        out = tmp_path / "t.jsonl"
        start = time.monotonic()
        code, _, err = run_cli(capsys, llm_args(cfg, out, slow.url, "--turns", "100", "--deadline", "1"))
        assert "--deadline" in one_line_error(code, err)
        assert time.monotonic() - start < 1.0 + SLACK
        kept = transcripts.read(out).records
        assert 1 <= len(kept) < 200
    finally:
        slow.close()


def huge_body(conn, stop):
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")  # no length: read to close
    chunk = b"0" * 65536
    for _ in range(2 * llm_client.MAX_BODY_BYTES // len(chunk) + 10):
        if stop.is_set():
            return
        conn.sendall(chunk)


def test_huge_body_is_refused_at_the_cap():
    """Was: a 100 MB body was read whole (1.9 GB RSS)."""
    server = RawServer(huge_body)
    try:
        client = llm_client.ChatClient(server.url, "m", "", timeout=20, retries=0)
        with pytest.raises(llm_client.LLMError, match="exceeds the limit"):
            client("prompt")
    finally:
        server.close()
    announced = RawServer(lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n"))
    try:
        with pytest.raises(llm_client.LLMError, match="100000000 bytes exceeds"):
            llm_client.ChatClient(announced.url, "m", "", timeout=5, retries=0)("prompt")
    finally:
        announced.close()


BROKEN = {
    "IncompleteRead": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"choi",
    "BadStatusLine": b"this is not HTTP\r\n\r\n",
    "LineTooLong": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
    "RemoteDisconnected": b"",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_http_is_one_line(tmp_path, capsys, cfg, monkeypatch, name):
    server = RawServer(lambda conn, stop: conn.sendall(BROKEN[name]))
    try:
        monkeypatch.setenv(llm_client.ENV_KEY, SECRET)
        code, _, err = run_cli(capsys, llm_args(cfg, tmp_path / "t.jsonl", server.url, "--turns", "1",
                                                "--retries", "1", "--timeout", "5"))
        line = one_line_error(code, err)
        assert name in line and "failed after 2 attempt" in line and not leaks(line)
    finally:
        server.close()


# --- nothing lost, nothing clobbered ----------------------------------------------------------

def test_bad_out_costs_no_request(tmp_path, capsys, cfg):
    """Was: a bad --out failed with a traceback only after every LLM call was made."""
    server = ChatServer(lambda p, n, local: local(p))
    try:
        for out in (tmp_path, cfg, tmp_path / "file.txt" / "under-a-file.jsonl"):
            (tmp_path / "file.txt").write_text("x")
            code, _, err = run_cli(capsys, llm_args(cfg, out, server.url, "--turns", "2"))
            one_line_error(code, err)
        assert server.requests == 0
        assert json.loads(cfg.read_text()) == CONFIG  # the config was not overwritten
    finally:
        server.close()


def test_interrupted_run_keeps_every_reply_and_resume_finishes_it(tmp_path, capsys, cfg):
    """Was: any failure part way through wrote nothing (30 good replies thrown away)."""
    flaky = ChatServer(lambda p, n, local: local(p) if n <= 30 else (401, "no more credit", {}))
    good = ChatServer(lambda p, n, local: local(p))
    out, ref = tmp_path / "t.jsonl", tmp_path / "ref.jsonl"
    try:
        code, _, err = run_cli(capsys, llm_args(cfg, out, flaky.url, "--turns", "25"))
        assert "--resume" in one_line_error(code, err)
        assert len(transcripts.read(out).records) == 30
        code, stdout, err = run_cli(capsys, llm_args(cfg, out, good.url, "--turns", "25", "--resume"))
        assert code == 0 and "20 new" in stdout, err
        code, _, err = run_cli(capsys, llm_args(cfg, ref, good.url, "--turns", "25"))
        assert code == 0, err
        resumed, straight = transcripts.read(out), transcripts.read(ref)
        assert len(resumed.records) == 50
        for a, b in zip(resumed.records, straight.records):
            assert (a.turn, a.agent) == (b.turn, b.agent)
            assert np.array_equal(a.incoming, b.incoming) and np.array_equal(a.outgoing, b.outgoing)
    finally:
        flaky.close()
        good.close()


def test_resume_refuses_a_transcript_of_another_config(tmp_path, capsys, cfg):
    out = tmp_path / "t.jsonl"
    assert run_cli(capsys, ["llm-run", str(cfg), "--turns", "3", "--out", str(out), "--backend", "local"])[0] == 0
    other = tmp_path / "other.json"
    changed = json.loads(json.dumps(CONFIG))
    changed["agents"][0]["prompt"]["y"][0] = 9
    other.write_text(json.dumps(changed))
    code, _, err = run_cli(capsys, ["llm-run", str(other), "--turns", "5", "--out", str(out), "--backend", "local",
                                    "--resume"])
    assert "prompt differs" in one_line_error(code, err)


def test_existing_outputs_need_force(tmp_path, capsys, cfg):
    """Was: every --out overwrote an existing file without a word."""
    out = tmp_path / "t.jsonl"
    local = ["llm-run", str(cfg), "--turns", "3", "--out", str(out), "--backend", "local"]
    assert run_cli(capsys, local)[0] == 0
    before = out.read_bytes()
    assert "--force" in one_line_error(*run_cli(capsys, local)[::2])
    assert out.read_bytes() == before
    assert run_cli(capsys, local + ["--force"])[0] == 0
    tex = tmp_path / "d.json"
    tex.write_text("keep")
    assert "--force" in one_line_error(*run_cli(capsys, ["derive", "--format", "json", "--out", str(tex)])[::2])
    assert tex.read_text() == "keep"
    figure = tmp_path / "t-fit.png"
    figure.write_text("keep")
    assert "--force" in one_line_error(*run_cli(capsys, ["fit", str(out)])[::2])
    assert figure.read_text() == "keep"


def test_verify_out_report_files_need_force(tmp_path, capsys):
    """Was: verify --out overwrote report.md/report.json; verify --out FILE was a traceback."""
    (tmp_path / "report.md").write_text("keep")
    code, _, err = run_cli(capsys, ["verify", "--claims", "C2", "--out", str(tmp_path)])
    assert "report.md" in one_line_error(code, err) and (tmp_path / "report.md").read_text() == "keep"
    afile = tmp_path / "afile"
    afile.write_text("x")
    one_line_error(*run_cli(capsys, ["verify", "--claims", "C2", "--out", str(afile)])[::2])


@pytest.mark.parametrize("claims", ["", ",", " , "])
def test_verify_empty_claims_is_an_error_not_everything(capsys, claims):
    one_line_error(*run_cli(capsys, ["verify", "--claims", claims])[::2])


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    from numerics.io import outputs

    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with outputs.atomic(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "old" and list(tmp_path.iterdir()) == [path]
