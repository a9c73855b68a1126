"""A small SMTP server on loopback that keeps every message it receives (stdlib only; the test's mail sink).

pretix's mail machinery (OutgoingMail, the Celery mail task, Django's SMTP backend) delivers to it as to any real
server; tests read ``sink.messages`` (``{"from", "to", "data"}``) to see what was sent.
"""

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def _reply(self, line: str):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self._reply("220 sink ESMTP")
        sender, recipients = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self._reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.messages.append({"from": sender, "to": recipients, "data": b"".join(lines)})
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:  # RSET, NOOP, ...
                self._reply("250 OK")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages = []
        self._thread = threading.Thread(target=self.serve_forever, name="smtp-sink", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> "SmtpSink":
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
