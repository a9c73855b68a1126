"""A tiny SMTP server on loopback that keeps every message it receives, parsed (pretix's workers send real SMTP to
it; ``message["To"]``, ``["Subject"]``, ``wait_for(predicate)``).

Only what Django's SMTP backend uses without TLS or login: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
"""

import email
import email.policy
import socketserver
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    def _reply(self, line: str):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self._reply("220 sink ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply("250-sink")
                self._reply("250 8BITMIME")
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.sink.store(b"".join(lines))
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.server = _Server((host, port), _Handler)
        self.server.sink = self
        self.messages = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, name="smtp-sink", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> "SmtpSink":
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def store(self, raw: bytes):
        with self._lock:
            self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))

    def wait_for(self, predicate, timeout: float = 60.0):
        """The first message (parsed, with ``["Subject"]``, ``["To"]``) matching ``predicate``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            time.sleep(0.2)
        raise AssertionError(f"no such mail within {timeout}s; got {[m['Subject'] for m in self.messages]}")
