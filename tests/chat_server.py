"""A chat-completions server on 127.0.0.1 (a free port) for the HTTP client's tests."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from numerics.llm import text_protocol


class ChatServer:
    """Replies ``answer(prompt, n, local)`` to the n-th request (``local``: a GD step written as text),
    or a tuple ``(status, body, headers)``; ``auth`` records each request's Authorization header."""

    def __init__(self, answer):
        self.auth, self.requests, self.errors = [], 0, []
        outer = self
        local = text_protocol.gd_text_agent(0.5)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.auth.append(self.headers.get("Authorization"))
                prompt = body["messages"][-1]["content"]
                out = answer(prompt, outer.requests, local)
                status, content, headers = out if isinstance(out, tuple) else (200, out, {})
                data = (json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                        if status == 200 else content.encode())
                self.send_response(status)
                if status == 200:
                    self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # Kept, not printed: a handler thread that outlives its test (a client that timed out)
                # would otherwise print its traceback into a later test's captured stderr.
                outer.errors.append(sys.exc_info()[1])

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
