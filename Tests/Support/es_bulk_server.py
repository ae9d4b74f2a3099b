#!/usr/bin/python3
"""A stand-in Elasticsearch 8 node for the tests: the `_bulk` API, `GET /`, `_count`, with faults.

    es_bulk_server.py [--port N] [--store PATH] [--reject-field NAME] [--busy-every N]
                      [--fail-requests N] [--max-bytes N]

Prints `listening PORT` once ready; exits cleanly on SIGTERM/SIGINT. `GET /_stats/requests` (not an
Elasticsearch route) answers {"requests","items","stored"}. Query parameters (refresh, filter_path,
...) are accepted and ignored, and `_count` ignores any query body: it counts every stored doc.

Protocol facts followed (the code and wording here are our own):
  https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html
    POST|PUT /_bulk and /<index>/_bulk; NDJSON "action_and_meta_data\\n optional_source\\n"; the final
    line must end in \\n, and a \\r may precede each \\n; index/create take a source line, update a
    doc/upsert line, delete none; an index in the URL applies to actions naming none; create fails if
    the id exists; the response is {took, errors, items} with one item per action, in request order,
    keyed by the action: _index, _id, _version, result, _shards, _seq_no, _primary_term, status, or,
    when it failed, status and error {type, reason, index_uuid, shard, index}; a delete of a missing
    document is result "not_found", status 404, and is not an error.
  https://www.elastic.co/guide/en/elasticsearch/reference/current/rejected-requests.html
    rejections are HTTP 429 (es_rejected_execution_exception), to be retried with backoff.
  https://www.elastic.co/guide/en/elasticsearch/reference/1.4/modules-http.html
    http.max_content_length caps a request body (default 100mb); larger requests get 413.
  https://github.com/elastic/elasticsearch/issues/7299 (whole-request error shape for a malformed
    action line) and https://github.com/elastic/elasticsearch-js/issues/354 (an action without an
    index fails the whole request: 400 action_request_validation_exception).
"""
import argparse, base64, fnmatch, gzip, json, os, signal, sys, threading, time, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# 8.7 is the last 8.x that types document-parsing failures mapper_parsing_exception (8.8 renamed it
# document_parsing_exception); advertising it keeps --reject-field's error type consistent.
VERSION = "8.7.1"
ROOT = {"name": "es-stand-in", "cluster_name": "mozdef-test", "cluster_uuid": "c2VydmVyLXN0YW5kLWlu",
        "version": {"number": VERSION, "build_flavor": "default", "build_type": "tar",
                    "build_hash": "0" * 40, "build_date": "2023-05-01T00:00:00.000000000Z",
                    "build_snapshot": False, "lucene_version": "9.5.0",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0"},
        "tagline": "You Know, for Search"}
ACTIONS = ("create", "delete", "index", "update")
# Elasticsearch 8 rejects any other metadata key, `_type` included (it was removed in 8.0).
META_KEYS = {"_index", "_id", "routing", "version", "version_type", "if_seq_no", "if_primary_term",
             "pipeline", "require_alias", "retry_on_conflict", "_source", "dynamic_templates",
             "require_data_stream", "list_executed_pipelines"}
UPDATE_KEYS = {"doc", "upsert", "doc_as_upsert", "script", "scripted_upsert", "detect_noop",
               "_source", "lang", "params"}
BAD_INDEX_CHARS = '\\/*?"<>| ,#:'
SHARDS_OK = {"total": 2, "successful": 1, "failed": 0}   # one primary written, its replica unassigned
BULK_TYPES = ("application/json", "application/x-ndjson",
              "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson")


class RequestError(Exception):
    """A failure of the whole request, carried as Elasticsearch's error envelope."""
    def __init__(self, status, etype, reason, **extra):
        cause = {"type": etype, "reason": reason, **extra}
        self.status, self.body = status, {"error": {"root_cause": [cause], **cause}, "status": status}


class Node:
    """Documents, versions and counters; one lock so item order and fault counting are exact."""
    def __init__(self, opts):
        self.opts, self.lock = opts, threading.Lock()
        self.docs = {}        # index -> {id: source}: the live documents
        self.versions = {}    # (index, id) -> last version, kept after a delete as ES's tombstones are
        self.seq = {}         # index -> next _seq_no (one shard per index)
        self.requests = self.items = self.stored = self.bulks_seen = 0
        self.store = open(opts.store, "a", encoding="utf-8") if opts.store else None

    def bulk(self, body, url_index):
        started = time.monotonic()
        ops = parse_bulk(body, url_index)
        with self.lock:
            self.bulks_seen += 1
            if self.bulks_seen <= self.opts.fail_requests:   # as a cluster without a master answers
                raise RequestError(503, "cluster_block_exception",
                                   "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
            items, lines = [], []
            for action, meta, payload in ops:
                result, line = self.execute(action, meta, payload, url_index)
                items.append({action: result})
                if line is not None:
                    lines.append(line)
            if self.store and lines:   # on disk before the client can see the answer
                self.store.write("".join(lines))
                self.store.flush()
            self.stored += len(lines)
        return {"took": int((time.monotonic() - started) * 1000),
                "errors": any("error" in next(iter(i.values())) for i in items), "items": items}

    def execute(self, action, meta, payload, url_index):
        """Runs one item; returns its response entry and the store line for a write (or None)."""
        index, doc_id = meta.get("_index") or url_index, meta.get("_id")
        if doc_id is None:   # only index/create reach here without one (validation saw to the rest)
            doc_id = base64.urlsafe_b64encode(os.urandom(15)).decode()   # 20 chars, as ES's ids
        doc_id = str(doc_id)
        head = {"_index": index, "_id": doc_id}

        def fail(status, etype, reason, **extra):
            err = {"type": etype, "reason": reason, **extra, "index_uuid": "_na_", "shard": "0",
                   "index": index}
            return {**head, "status": status, "error": err}, None

        self.items += 1
        if self.opts.busy_every and self.items % self.opts.busy_every == 0:
            return fail(429, "es_rejected_execution_exception", "rejected execution of primary "
                        "operation on EsThreadPoolExecutor[name = es-stand-in/write, queue capacity = 10000]")
        bad = index_name_problem(index)
        if bad:
            return fail(400, "invalid_index_name_exception", "Invalid index name [%s], %s" % (index, bad))
        if action == "delete" and index not in self.docs:
            return fail(404, "index_not_found_exception", "no such index [%s]" % index)
        live = self.docs.setdefault(index, {})   # writes auto-create the index, as ES does
        current = live.get(doc_id)

        if action in ("index", "create"):
            try:
                source = json.loads(payload)
            except ValueError as e:
                return fail(400, "mapper_parsing_exception", "failed to parse",
                            caused_by={"type": "json_parse_exception", "reason": str(e)})
            if not isinstance(source, dict):
                return fail(400, "mapper_parsing_exception", "failed to parse",
                            caused_by={"type": "not_x_content_exception",
                                       "reason": "Malformed content, must start with an object"})
            if action == "create" and current is not None:
                return fail(409, "version_conflict_engine_exception",
                            "[%s]: version conflict, document already exists (current version [%d])"
                            % (doc_id, self.versions[(index, doc_id)]))
        elif action == "update":
            if "script" in payload:
                return fail(400, "illegal_argument_exception", "scripts are not run by this stand-in")
            if current is not None:
                source = merge(current, payload.get("doc", {}))
                if source == current and payload.get("detect_noop", True):
                    return {**head, "_version": self.versions[(index, doc_id)], "result": "noop",
                            "_shards": {"total": 0, "successful": 0, "failed": 0},
                            "_seq_no": self.seq[index] - 1, "_primary_term": 1, "status": 200}, None
            elif payload.get("doc_as_upsert"):
                source = payload.get("doc", {})
            elif "upsert" in payload:
                source = payload["upsert"]
            else:
                return fail(404, "document_missing_exception", "[%s]: document missing" % doc_id)
        if action != "delete" and self.opts.reject_field and self.opts.reject_field in source:
            value = source[self.opts.reject_field]
            value = (value if isinstance(value, str) else json.dumps(value))[:20]
            return fail(400, "mapper_parsing_exception",
                        "failed to parse field [%s] of type [long] in document with id '%s'. "
                        "Preview of field's value: '%s'" % (self.opts.reject_field, doc_id, value),
                        caused_by={"type": "illegal_argument_exception",
                                   "reason": "For input string: \"%s\"" % value})

        version = self.versions.get((index, doc_id), 0) + 1
        self.versions[(index, doc_id)] = version
        seq_no = self.seq.get(index, 0)
        self.seq[index] = seq_no + 1
        if action == "delete":
            found, line = live.pop(doc_id, None) is not None, None
            result, status = ("deleted", 200) if found else ("not_found", 404)
        else:
            live[doc_id] = source
            result, status = ("updated", 200) if current is not None else ("created", 201)
            line = json.dumps({"_index": index, "_id": doc_id, "_source": source}) + "\n"
        return {**head, "_version": version, "result": result, "_shards": SHARDS_OK,
                "_seq_no": seq_no, "_primary_term": 1, "status": status}, line

    def count(self, expression):
        with self.lock:
            names = set()
            for part in (expression or "_all").split(","):
                if part in ("_all", "*"):
                    names |= set(self.docs)
                elif "*" in part:
                    names |= {n for n in self.docs if fnmatch.fnmatchcase(n, part)}
                elif part in self.docs:
                    names.add(part)
                else:
                    raise RequestError(404, "index_not_found_exception", "no such index [%s]" % part,
                                       **{"resource.type": "index_or_alias", "resource.id": part,
                                          "index_uuid": "_na_", "index": part})
            shards = {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0}
            return {"count": sum(len(self.docs[n]) for n in names), "_shards": shards}


def parse_bulk(body, url_index):
    """Splits NDJSON into (action, metadata, payload) and validates it the way the coordinating node
    does: shape errors and validation failures reject the whole request; bad sources are per item."""
    def refuse(etype, reason):
        raise RequestError(400, etype, reason)
    if not body:
        refuse("parse_exception", "request body is required")
    if not body.endswith(b"\n"):
        refuse("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
    lines = [l[:-1] if l.endswith(b"\r") else l for l in body[:-1].split(b"\n")]
    ops, problems, i = [], [], 0
    while i < len(lines):
        number, raw = i + 1, lines[i]
        i += 1
        if not raw.strip():   # an empty action line is skipped
            continue
        try:
            action_line = json.loads(raw)
        except ValueError as e:
            refuse("x_content_parse_exception", "[%d:1] %s" % (number, e))
        malformed = "Malformed action/metadata line [%d], " % number
        if not isinstance(action_line, dict) or len(action_line) != 1:
            refuse("illegal_argument_exception", malformed + "expected a single-field START_OBJECT")
        (action, meta), = action_line.items()
        if action not in ACTIONS:
            refuse("illegal_argument_exception", malformed + "expected field [create], [delete], "
                   "[index] or [update] but found [%s]" % action)
        if not isinstance(meta, dict):
            refuse("illegal_argument_exception", malformed + "expected START_OBJECT but found [%s]" % meta)
        for key in set(meta) - META_KEYS:
            refuse("illegal_argument_exception",
                   "Action/metadata line [%d] contains an unknown parameter [%s]" % (number, key))
        payload = None
        if action != "delete":
            if i >= len(lines):   # a client bug; made loud here rather than passed over
                refuse("illegal_argument_exception", "the [%s] on line [%d] has no source line" % (action, number))
            payload, i = lines[i], i + 1
        if action == "update":   # update payloads are parsed up front, so their errors are request-wide
            try:
                payload = json.loads(payload)
            except ValueError as e:
                refuse("x_content_parse_exception", "[%d:1] %s" % (i, e))
            if not isinstance(payload, dict):
                refuse("x_content_parse_exception", "[%d:1] [UpdateRequest] expected START_OBJECT" % i)
            for key, value in payload.items():
                if key not in UPDATE_KEYS or (key in ("doc", "upsert") and not isinstance(value, dict)):
                    refuse("x_content_parse_exception", "[%d:2] [UpdateRequest] failed to parse field [%s]" % (i, key))
            if "doc" not in payload and "script" not in payload:
                problems.append("script or doc is missing")
        if not (meta.get("_index") or url_index):
            problems.append("index is missing")
        if action in ("update", "delete") and meta.get("_id") is None:
            problems.append("id is missing")
        ops.append((action, meta, payload))
    if not ops:
        problems.append("no requests added")
    if problems:
        raise RequestError(400, "action_request_validation_exception", "Validation Failed: " +
                           "".join("%d: %s;" % (n, p) for n, p in enumerate(problems, 1)))
    return ops


def index_name_problem(name):
    """Why ES would refuse to create this index (each item naming it then fails), or None."""
    return ("must be lowercase" if name != name.lower() else
            "must not start with '_', '-', or '+'" if name[0] in "_-+" else
            "must not be '.' or '..'" if name in (".", "..") else
            "must not contain the following characters [%s]" % ", ".join(BAD_INDEX_CHARS)
            if any(c in BAD_INDEX_CHARS for c in name) else
            "index name is too long, (%d > 255)" % len(name.encode()) if len(name.encode()) > 255 else None)


def merge(base, partial):
    """A partial update merges objects recursively and replaces everything else."""
    out = dict(base)
    for key, value in partial.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every answer has a Content-Length
    node = None

    def log_message(self, *args):
        pass

    def read_body(self):
        """The whole body (Content-Length or chunked), always consumed so the connection stays usable."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():   # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, obj=None, extra=()):
        body = b"" if obj is None else json.dumps(obj).encode()
        gz = body and "gzip" in self.headers.get("Accept-Encoding", "")   # as http.compression does
        if gz:
            body = gzip.compress(body)
        self.send_response(status)
        self.send_header("X-elastic-product", "Elasticsearch")   # 8.x clients check for it
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        method, body = self.command, self.read_body()
        try:
            if parts == [] and method in ("GET", "HEAD"):
                return self.reply(200, ROOT)
            if parts == ["_stats", "requests"] and method == "GET":
                n = self.node
                return self.reply(200, {"requests": n.requests, "items": n.items, "stored": n.stored})
            if parts and parts[-1] == "_count" and len(parts) <= 2 and method in ("GET", "POST"):
                return self.reply(200, self.node.count(parts[0] if len(parts) == 2 else None))
            if parts and parts[-1] == "_bulk" and len(parts) <= 2:
                if method not in ("POST", "PUT"):
                    return self.reply(405, {"error": "Incorrect HTTP method for uri [%s] and method [%s], "
                                            "allowed: [POST, PUT]" % (self.path, method), "status": 405},
                                      [("Allow", "POST,PUT")])
                return self.bulk(body, parts[0] if len(parts) == 2 else None)
            self.reply(400, {"error": "no handler found for uri [%s] and method [%s]" % (self.path, method),
                             "status": 400})
        except RequestError as e:
            self.reply(e.status, e.body)

    def bulk(self, raw, url_index):
        with self.node.lock:
            self.node.requests += 1
        ctype = self.headers.get("Content-Type")
        if ctype is None or ctype.split(";")[0].strip().lower() not in BULK_TYPES:
            return self.reply(406, {"error": "Content-Type header is missing" if ctype is None else
                                    "Content-Type header [%s] is not supported" % ctype, "status": 406})
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        try:
            if encoding in ("gzip", "x-gzip"):
                raw = gzip.decompress(raw)
            elif encoding in ("deflate", "x-deflate"):
                raw = zlib.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise RequestError(400, "parse_exception", "cannot decode %s request body: %s" % (encoding, e))
        # The limit applies to the decoded body, as the decompressor sits before the aggregator.
        if self.node.opts.max_bytes and len(raw) > self.node.opts.max_bytes:
            return self.reply(413)
        self.reply(200, self.node.bulk(raw, url_index))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = route


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--store", help="append each stored document here as one JSON line")
    ap.add_argument("--reject-field", help="documents with this top-level field fail: 400 mapper_parsing_exception")
    ap.add_argument("--busy-every", type=int, default=0, help="every Nth item fails: 429 es_rejected_execution_exception")
    ap.add_argument("--fail-requests", type=int, default=0, help="the first N bulk requests answer 503")
    ap.add_argument("--max-bytes", type=int, default=0, help="bodies over N bytes answer 413")
    Handler.node = Node(ap.parse_args())
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", Handler.node.opts.port), Handler)
    server.daemon_threads = True   # idle keep-alive connections must not hold up the exit
    # shutdown() waits for serve_forever(), which runs in this same (signal-handling) thread.
    stop = lambda *_: threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()
    server.server_close()
    if Handler.node.store:
        Handler.node.store.close()


if __name__ == "__main__":
    main()
