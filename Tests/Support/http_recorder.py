#!/usr/bin/python3
"""A real HTTP server for the tests: records every request and answers like MozDef's loginput
(200, empty body) or an Elasticsearch-style /_bulk (200, {"errors":false}).

    http_recorder.py RECORD_FILE [--fail-first N] [--port P] [--close-every N] [--chunked]

Prints its port on the first line of stdout. Each request is appended to RECORD_FILE as JSON
{"path","status","headers","body"} (gzip bodies decoded). The first N requests get 503; a body
containing REJECTME gets 400 with a JSON error. --close-every N ends the connection after every
Nth answer (Connection: close; requests pipelined behind it are dropped unanswered, as a
server that closes does); --chunked sends bodies with Transfer-Encoding: chunked."""
import gzip, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

record = open(sys.argv[1], "a", buffering=1)
fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
close_every = int(sys.argv[sys.argv.index("--close-every") + 1]) if "--close-every" in sys.argv else 0
chunked = "--chunked" in sys.argv
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with lock:
            count[0] += 1
            n = count[0]
        if n <= fail_first:
            status, reply = 503, b"busy"
        elif b"REJECTME" in body:
            status, reply = 400, b'{"error":"bad event"}'
        elif self.path.endswith("/_bulk"):
            status, reply = 200, b'{"errors":false}'
        else:
            status, reply = 200, b""
        with lock:
            record.write(json.dumps({"path": self.path, "status": status, "headers": dict(self.headers),
                                     "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(status)
        if close_every and n % close_every == 0:
            self.send_header("Connection", "close")
            self.close_connection = True
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if reply:
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(reply), reply))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)


port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
