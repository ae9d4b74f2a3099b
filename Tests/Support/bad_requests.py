#!/usr/bin/python3
"""Bad HTTP input for mozdef-receiver, over raw sockets (stdlib only).

    bad_requests.py cases PORT [TOKEN]     each bad request once: one JSON line per case,
                                           {"case", "status"} (status 0: closed, no answer)
    bad_requests.py slowloris PORT         a request head sent a byte every 0.3 s: prints
                                           {"status", "seconds"} once the server gives up
    bad_requests.py load PORT CONNS SECS   CONNS keep-alive connections posting events for
                                           SECS seconds: prints {"ok", "other", "failed"}
    bad_requests.py hold PORT CONNS        opens CONNS connections at once, then asks for
                                           /status on each: prints {"answered", "closed"}"""
import json
import socket
import sys
import threading
import time


def exchange(port, raw, timeout=10.0, close_write=False):
    """Sends raw bytes; the status of the first answer (0 if the connection closed first)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) >= 2 and line[1].isdigit() else 0
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return 0
    finally:
        s.close()


def post(path, body, extra=b""):
    return b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + extra + \
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def cases(port, token):
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n" if token else b""
    deep = b"[" * 5000 + b"]" * 5000
    deep_obj = b'{"summary":"x","details":' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}"
    out = [
        ("malformed JSON", post(b"/events", b'{"summary": ', auth)),
        ("not an object", post(b"/events", b'[1,2,3]', auth)),
        ("empty body", post(b"/events", b"", auth)),
        ("nested 5000 deep", post(b"/events", deep, auth)),
        ("object nested 100 deep", post(b"/events", deep_obj, auth)),
        ("not UTF-8", post(b"/events", b'{"summary":"\xff\xfe\xc3"}', auth)),
        ("NUL in a string", post(b"/events", b'{"summary":"a\x00b"}', auth)),
        ("5 MiB body", post(b"/events", b'{"summary":"' + b"x" * (5 << 20) + b'"}', auth)),
        ("5 MiB chunked", b"POST /_bulk HTTP/1.1\r\nHost: t\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n" +
         b"".join(b"100000\r\n" + b"x" * 0x100000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"),
        ("bulk with a bad line", post(b"/_bulk", b'{"summary":"ok"}\n{"summary":\n', auth)),
        ("bad time", post(b"/events", b'{"summary":"x","utctimestamp":"yesterday"}', auth)),
        ("DELETE /events", b"DELETE /events HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\n"),
        ("GET /events", b"GET /events HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\n"),
        ("unknown path", post(b"/nope", b"{}", auth)),
        ("path traversal", post(b"/custom/../../etc/passwd", b"{}", auth)),
        ("not HTTP", b"HELLO THERE\r\n\r\n"),
        ("header of 200 KB", b"POST /events HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"),
        ("bad Content-Length", b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n"),
        ("truncated body", b"POST /events HTTP/1.1\r\nHost: t\r\n" + auth + b"Content-Length: 100\r\n\r\n{\"summary\":"),
        ("no token", post(b"/events", b'{"summary":"x"}')),
        ("wrong token", post(b"/events", b'{"summary":"x"}', b"Authorization: Bearer nope\r\n")),
        ("no token, query", b"GET /api/events HTTP/1.1\r\nHost: t\r\n\r\n"),
    ]
    for name, raw in out:
        print(json.dumps({"case": name, "status": exchange(port, raw, close_write=(name == "truncated body"))}), flush=True)


def slowloris(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    start = time.monotonic()
    head = b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 1000
    status = 0
    try:
        for b in head:
            s.send(bytes([b]))
            time.sleep(0.3)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        data = s.recv(65536)
        if data.startswith(b"HTTP/1.1 "):
            status = int(data.split()[1])
    except (ConnectionResetError, socket.timeout):
        pass
    print(json.dumps({"status": status, "seconds": round(time.monotonic() - start, 1)}))


def load(port, conns, secs):
    counts = {"ok": 0, "other": 0, "failed": 0}
    lock = threading.Lock()
    stop = time.monotonic() + secs

    def worker(k):
        n = 0
        s = None
        while time.monotonic() < stop:
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), timeout=30)
                body = json.dumps({"summary": "load %d %d" % (k, n), "category": "load"}).encode()
                s.sendall(post(b"/events", body))
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise ConnectionResetError
                    data += chunk
                status = int(data.split()[1])
                with lock:
                    counts["ok" if status == 200 else "other"] += 1
                n += 1
            except (OSError, ValueError, IndexError):
                with lock:
                    counts["failed"] += 1
                if s:
                    s.close()
                s = None
                time.sleep(0.05)
        if s:
            s.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(counts))


def hold(port, conns):
    socks = []
    for _ in range(conns):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    time.sleep(1)  # the server has accepted, and closed those past its limit
    answered = closed = 0
    for s in socks:
        try:
            s.sendall(b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n")
            data = s.recv(4096)
            if data.startswith(b"HTTP/1.1 200"):
                answered += 1
            else:
                closed += 1
        except OSError:
            closed += 1
        finally:
            s.close()
    print(json.dumps({"answered": answered, "closed": closed}))


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "cases":
        cases(port, sys.argv[3] if len(sys.argv) > 3 else "")
    elif cmd == "slowloris":
        slowloris(port)
    elif cmd == "hold":
        hold(port, int(sys.argv[3]))
    elif cmd == "load":
        load(port, int(sys.argv[3]), float(sys.argv[4]))
