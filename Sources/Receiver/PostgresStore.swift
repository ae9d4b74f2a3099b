import CPostgres
import Foundation
import MozDefEvent

/// The shared store of a cluster: any number of receivers on one PostgreSQL see the same
/// events, alerts and rule marks. Through libpq, PostgreSQL's own client library: it is
/// synchronous like the store's writer thread, and its COPY protocol takes a whole group
/// commit in one stream.
///
/// Three connections: the writer (group commits from one thread, as with SQLite), the reader
/// (queries and rule windows) and the leader connection, which holds the cluster's rule lock
/// (a session advisory lock: PostgreSQL drops it the moment that connection ends, so a
/// receiver killed with SIGKILL hands the rules over at once).
public final class PostgresStore: EventStore, @unchecked Sendable {
    private let writer: PGConnection
    private let reader: PGConnection
    private let leaderConn: PGConnection
    private let readLock = NSLock()
    private let writeLock = NSLock()
    private let leaderLock = NSLock()
    private var leading = false
    private let queue = BatchQueue<(docs: [StoredEvent], done: @Sendable (Error?) -> Void)>()

    /// Advisory lock keys ("mozdef" and a number), the same in every receiver.
    static let migrationKey: Int64 = 0x6d6f_7a64_6566_0001
    static let leaderKey: Int64 = 0x6d6f_7a64_6566_0002

    /// Schema steps, applied in order at start under the migration lock; the version reached
    /// is kept in schema_version. A step is never edited once released: new ones are appended.
    static let migrations: [String] = [
        """
        CREATE TABLE IF NOT EXISTS events (
            id BIGSERIAL PRIMARY KEY,
            utc BIGINT NOT NULL,
            received BIGINT NOT NULL,
            category TEXT NOT NULL,
            hostname TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS alerts (
            id BIGSERIAL PRIMARY KEY,
            utc BIGINT NOT NULL,
            rule TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS rule_events (
            rule TEXT NOT NULL,
            event BIGINT NOT NULL,
            PRIMARY KEY (rule, event));
        \(schemaIndexes)
        """,
        """
        ALTER TABLE events ADD COLUMN IF NOT EXISTS msgid TEXT;
        CREATE UNIQUE INDEX IF NOT EXISTS events_msgid ON events(msgid) WHERE msgid IS NOT NULL;
        """,
    ]

    /// `url`: postgres:// or postgresql://user:pass@host:port/db[?param=value], as libpq reads it.
    public init(url: String) throws {
        writer = try PGConnection(url)
        reader = try PGConnection(url)
        leaderConn = try PGConnection(url)
        try migrate()
        // Rows of a group commit go through a session table, so that a message delivered
        // twice (same AMQP message id) is stored once: COPY cannot skip a conflicting row.
        // A temporary table lives as long as its session: it is made again on each new one.
        try writer.setUp(["CREATE TEMP TABLE IF NOT EXISTS staging (n INT, utc BIGINT, received BIGINT, category TEXT, hostname TEXT, msgid TEXT, doc TEXT) ON COMMIT DELETE ROWS"])
        let t = Thread { self.writeLoop() }
        t.name = "pg-writer"
        t.start()
    }

    /// The schema version this build brings.
    public static var schemaVersion: Int { migrations.count }

    private func migrate() throws {
        try writer.exec("BEGIN")
        do {
            _ = try writer.query("SELECT pg_advisory_xact_lock($1)", [String(Self.migrationKey)])
            try writer.exec("CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)")
            let rows = try writer.query("SELECT max(version) FROM schema_version", [])
            let have = rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
            if have > Self.migrations.count {
                throw StoreError(description: "postgres: the schema is at version \(have), newer than this receiver's \(Self.migrations.count): upgrade the receiver")
            }
            for (i, step) in Self.migrations.enumerated() where i + 1 > have {
                try writer.exec(step)
            }
            if have < Self.migrations.count {
                try writer.exec("DELETE FROM schema_version")
                _ = try writer.query("INSERT INTO schema_version(version) VALUES ($1)", [String(Self.migrations.count)])
            }
            try writer.exec("COMMIT")
        } catch {
            try? writer.exec("ROLLBACK")
            throw error
        }
    }

    // MARK: writing

    public func insert(_ docs: [StoredEvent], done: @escaping @Sendable (Error?) -> Void) {
        if docs.isEmpty { return done(nil) }
        queue.put([(docs, done)])
    }

    private func writeLoop() {
        var copyBuffer: [UInt8] = []
        while true {
            let batch = queue.takeAll()
            var result: Error?
            // One retry on a new connection: the server may have restarted between two
            // commits. Not when the connection broke after COMMIT was sent: the rows may be
            // stored, and a copy without a message id would be stored twice.
            for attempt in 0..<2 {
                do {
                    try commit(batch.map(\.docs), &copyBuffer)
                    result = nil
                    break
                } catch {
                    result = error
                    guard attempt == 0 && !writer.isHealthy && !commitSent else { break }
                }
            }
            for b in batch { b.done(result) }
        }
    }

    /// Whether the last commit's COMMIT went out (its outcome is then unknown if it failed).
    private var commitSent = false

    private func commit(_ groups: [[StoredEvent]], _ buf: inout [UInt8]) throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        commitSent = false
        // Without message ids (HTTP ingest) rows go straight into events; with them, through
        // the staging table, skipping ids already stored.
        writer.reconnectIfLost()
        let keyed = groups.contains { $0.contains { $0.messageID != nil } }
        buf.removeAll(keepingCapacity: true)
        var n = 0
        for g in groups {
            for e in g {
                if keyed { Self.copyField(&buf, String(n)); buf.append(0x09) }
                Self.copyField(&buf, String(e.utc)); buf.append(0x09)
                Self.copyField(&buf, String(e.received)); buf.append(0x09)
                Self.copyField(&buf, e.category); buf.append(0x09)
                Self.copyField(&buf, e.hostname); buf.append(0x09)
                if let m = e.messageID { Self.copyField(&buf, m) } else { buf.append(contentsOf: [0x5C, 0x4E]) }  // \N
                buf.append(0x09)
                Self.copyField(&buf, e.json)
                buf.append(0x0A)
                n += 1
            }
        }
        var skipped = 0
        try writer.exec("BEGIN")
        do {
            if keyed {
                try writer.copy("COPY staging (n, utc, received, category, hostname, msgid, doc) FROM STDIN", buf)
                let inserted = try writer.command("""
                    INSERT INTO events (utc, received, category, hostname, msgid, doc)
                    SELECT utc, received, category, hostname, msgid, doc FROM staging ORDER BY n
                    ON CONFLICT (msgid) WHERE msgid IS NOT NULL DO NOTHING
                    """, [])
                skipped = n - inserted
            } else {
                try writer.copy("COPY events (utc, received, category, hostname, msgid, doc) FROM STDIN", buf)
            }
            commitSent = true
            try writer.exec("COMMIT")
            if skipped > 0 { duplicateCount.add(skipped) }
        } catch {
            try? writer.exec("ROLLBACK")
            throw error
        }
    }

    /// One field in COPY's text format: backslash, tab, newline and carriage return escaped;
    /// NUL, which PostgreSQL text cannot hold, left out.
    static func copyField<S: Sequence>(_ buf: inout [UInt8], _ s: S) where S.Element == UInt8 {
        for c in s {
            switch c {
            case 0x5C: buf.append(0x5C); buf.append(0x5C)
            case 0x09: buf.append(0x5C); buf.append(0x74)
            case 0x0A: buf.append(0x5C); buf.append(0x6E)
            case 0x0D: buf.append(0x5C); buf.append(0x72)
            case 0x00: break
            default: buf.append(c)
            }
        }
    }

    static func copyField(_ buf: inout [UInt8], _ s: String) { copyField(&buf, s.utf8) }

    // MARK: reading

    public func events(since: Int64?, limit: Int, match: @Sendable (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject]) {
        try documents("SELECT doc FROM events WHERE received >= $1 ORDER BY id DESC", since: since, limit: limit, match: match)
    }

    private func documents(_ sql: String, since: Int64?, limit: Int, match: (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject]) {
        readLock.lock()
        defer { readLock.unlock() }
        return try reader.again {
            var total = 0
            var out: [JSONObject] = []
            try reader.stream(sql, [String(since ?? Int64.min)]) { row in
                guard let text = row.bytes(0),
                      case .object(let o)? = try? JSONReader.parse(text) else { return }
                if match(o) {
                    total += 1
                    if out.count < limit { out.append(o) }
                }
            }
            return (total, out)
        }
    }

    public func expire(before: Int64) throws -> Int {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try writer.again { try writer.command("DELETE FROM events WHERE received < $1", [String(before)]) }
    }

    public func window(since: Int64, unusedBy rule: String?) throws -> [(id: Int64, doc: JSONObject)] {
        readLock.lock()
        defer { readLock.unlock() }
        let sql = rule == nil ? "SELECT id, doc FROM events WHERE (utc >= $1 OR received >= $1) ORDER BY id" : """
            SELECT id, doc FROM events WHERE (utc >= $1 OR received >= $1)
            AND NOT EXISTS (SELECT 1 FROM rule_events r WHERE r.rule = $2 AND r.event = events.id) ORDER BY id
            """
        return try reader.again {
            var out: [(Int64, JSONObject)] = []
            try reader.stream(sql, rule.map { [String(since), $0] } ?? [String(since)]) { row in
                guard let idText = row.string(0), let id = Int64(idText), let text = row.bytes(1),
                      case .object(let o)? = try? JSONReader.parse(text) else { return }
                out.append((id, o))
            }
            return out
        }
    }

    public func insertAlert(_ alert: JSONObject, utc: Int64, rule: String, events: [Int64], unlessAlertSince: Int64?) throws -> Int64? {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try writer.again { try insertAlertLocked(alert, utc: utc, rule: rule, events: events, unlessAlertSince: unlessAlertSince) }
    }

    private func insertAlertLocked(_ alert: JSONObject, utc: Int64, rule: String, events: [Int64], unlessAlertSince: Int64?) throws -> Int64? {
        var w = JSONWriter(capacity: 1024)
        w.value(.object(alert))
        let doc = String(decoding: w.bytes, as: UTF8.self)
        // In one order everywhere: two receivers marking overlapping events then wait for
        // each other instead of deadlocking.
        let ids = Array(Set(events)).sorted()
        try writer.exec("BEGIN")
        do {
            if let since = unlessAlertSince {
                // Receivers checking the same rule take turns (a lock on the rule's name for
                // this transaction), so only the first stores its alert.
                _ = try writer.query("SELECT pg_advisory_xact_lock(hashtext($1))", [rule])
                let last = try writer.query("SELECT max(utc) FROM alerts WHERE rule = $1", [rule]).first?.first.flatMap { $0 }.flatMap { Int64($0) }
                if let last, last >= since {
                    try writer.exec("ROLLBACK")
                    return nil
                }
            }
            // Marked first: if another receiver marked one of these events for this rule, it
            // raised this alert, and this transaction is dropped.
            if !ids.isEmpty {
                let marked = try writer.command("INSERT INTO rule_events(rule, event) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
                                                [rule, "{" + ids.map(String.init).joined(separator: ",") + "}"])
                if marked != ids.count {
                    try writer.exec("ROLLBACK")
                    return nil
                }
            }
            let rows = try writer.query("INSERT INTO alerts(utc, rule, doc) VALUES ($1, $2, $3) RETURNING id", [String(utc), rule, doc])
            try writer.exec("COMMIT")
            guard let s = rows.first?.first.flatMap({ $0 }), let id = Int64(s) else { throw StoreError(description: "postgres: no alert id returned") }
            return id
        } catch {
            try? writer.exec("ROLLBACK")
            throw error
        }
    }

    public func lastAlert(rule: String) throws -> Int64? {
        readLock.lock()
        defer { readLock.unlock() }
        let rows = try reader.again { try reader.query("SELECT max(utc) FROM alerts WHERE rule = $1", [rule]) }
        return rows.first?.first.flatMap { $0 }.flatMap { Int64($0) }
    }

    public func alerts(since: Int64?, limit: Int) throws -> (total: Int, alerts: [JSONObject]) {
        let r = try documents("SELECT doc FROM alerts WHERE utc >= $1 ORDER BY id DESC", since: since, limit: limit) { _ in true }
        return (r.total, r.events)
    }

    /// Whether this receiver holds the cluster's rule lock, taking it when it is free. A lost
    /// connection loses the lock: the next call tries again on a new one.
    public func leads() -> Bool {
        leaderLock.lock()
        defer { leaderLock.unlock() }
        // A lost connection lost the lock with it; a new one tries again at the next call.
        if leading {
            if (try? leaderConn.query("SELECT 1", [])) != nil { return true }
            leading = false
            return false
        }
        leaderConn.reconnectIfLost()
        guard let rows = try? leaderConn.query("SELECT pg_try_advisory_lock($1)", [String(Self.leaderKey)]) else { return false }
        leading = rows.first?.first.flatMap { $0 } == "t"
        return leading
    }

    private let duplicateCount = Counter()
    public func duplicatesSkipped() -> Int { duplicateCount.value }
}

/// One libpq connection. Not thread-safe: each user holds its own lock.
final class PGConnection: @unchecked Sendable {
    private var conn: OpaquePointer

    /// Statements run on each new session (the first and every one after a reset).
    private var setup: [String] = []

    /// libpq's parameters that follow the URL override it: text is UTF-8 whatever the
    /// database's default, and a dead peer is noticed in seconds (TCP keepalives and a user
    /// timeout, here and, through `setUp`, on the server's side).
    static let keywords = ["dbname", "client_encoding", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"]
    static let sessionSettings = [
        "SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3", "SET tcp_user_timeout = 30000",
    ]

    init(_ url: String) throws {
        let values = [url, "UTF8", "1", "10", "5", "3", "30000"]
        let ks = Self.keywords.map { strdup($0) } + [nil]
        let vs = values.map { strdup($0) } + [nil]
        defer { (ks + vs).forEach { free($0) } }
        let c = ks.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            vs.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 1) }
        }
        guard let c else { throw StoreError(description: "postgres: out of memory") }
        conn = c
        guard PQstatus(c) == CONNECTION_OK else {
            let why = Self.message(c)
            PQfinish(c)
            throw StoreError(description: "postgres: cannot connect: \(why)")
        }
        // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        try setUp([])
    }

    deinit { PQfinish(conn) }

    var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Adds statements to run on this session and on every new one.
    func setUp(_ statements: [String]) throws {
        if setup.isEmpty { setup = Self.sessionSettings }
        setup += statements
        for st in (statements.isEmpty ? setup : statements) { try exec(st) }
    }

    /// A new session in place of this one, set up as the first was.
    func reset() {
        PQreset(conn)
        if PQstatus(conn) == CONNECTION_OK { for st in setup { try? exec(st) } }
    }

    /// `body`, and once more on a new connection if it failed because the connection was lost
    /// (a server restart or a network cut shows only when a statement fails).
    func again<T>(_ body: () throws -> T) throws -> T {
        reconnectIfLost()
        do {
            return try body()
        } catch {
            guard reconnectIfLost() else { throw error }
            return try body()
        }
    }

    /// A connection the server or the network dropped fails its next statement and then
    /// reports itself bad: it is opened again before the next use. True when it was.
    @discardableResult
    func reconnectIfLost() -> Bool {
        guard PQstatus(conn) != CONNECTION_OK else { return false }
        reset()
        return true
    }

    static func message(_ c: OpaquePointer) -> String {
        String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func failure(_ r: OpaquePointer?) -> StoreError {
        let m = r.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
        let text = m.isEmpty ? Self.message(conn) : m
        return StoreError(description: "postgres: " + text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A statement without parameters (several may be separated by semicolons).
    func exec(_ sql: String) throws {
        let r = PQexec(conn, sql)
        defer { PQclear(r) }
        let st = PQresultStatus(r)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw failure(r) }
    }

    /// `body` with the parameters as C strings, for PQexecParams and PQsendQueryParams.
    private func withParams<T>(_ params: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let cs = params.map { strdup($0) }
        defer { cs.forEach { free($0) } }
        return cs.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// Runs `sql` with text parameters and hands `body` the result.
    private func withResult<T>(_ sql: String, _ params: [String], _ body: (OpaquePointer?) throws -> T) throws -> T {
        let r = withParams(params) { PQexecParams(conn, sql, Int32(params.count), nil, $0, nil, nil, 0) }
        defer { PQclear(r) }
        let st = PQresultStatus(r)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw failure(r) }
        return try body(r)
    }

    /// All rows, as text (nil: SQL NULL).
    func query(_ sql: String, _ params: [String]) throws -> [[String?]] {
        try withResult(sql, params) { r in
            var rows: [[String?]] = []
            for i in 0..<PQntuples(r) {
                rows.append((0..<PQnfields(r)).map { j in
                    PQgetisnull(r, i, j) == 1 ? nil : String(cString: PQgetvalue(r, i, j))
                })
            }
            return rows
        }
    }

    /// The number of rows a command changed.
    func command(_ sql: String, _ params: [String]) throws -> Int {
        try withResult(sql, params) { r in Int(String(cString: PQcmdTuples(r))) ?? 0 }
    }

    struct Row {
        let result: OpaquePointer?
        func bytes(_ j: Int32) -> UnsafeBufferPointer<UInt8>? {
            guard PQgetisnull(result, 0, j) == 0, let v = PQgetvalue(result, 0, j) else { return nil }
            return UnsafeBufferPointer(start: UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self), count: Int(PQgetlength(result, 0, j)))
        }
        func string(_ j: Int32) -> String? { bytes(j).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Rows one at a time (libpq's single-row mode), so a large window is never held twice.
    func stream(_ sql: String, _ params: [String], _ body: (Row) throws -> Void) throws {
        let sent = withParams(params) { PQsendQueryParams(conn, sql, Int32(params.count), nil, $0, nil, nil, 0) }
        guard sent == 1 else { throw failure(nil) }
        PQsetSingleRowMode(conn)
        var failed: Error?
        while let r = PQgetResult(conn) {
            let st = PQresultStatus(r)
            if st == PGRES_SINGLE_TUPLE, failed == nil {
                do { try body(Row(result: r)) } catch { failed = error }
            } else if st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE && failed == nil {
                failed = failure(r)
            }
            PQclear(r)
        }
        if let failed { throw failed }
    }

    /// COPY … FROM STDIN with `data` (rows in COPY's text format).
    func copy(_ sql: String, _ data: [UInt8]) throws {
        let r = PQexec(conn, sql)
        let st = PQresultStatus(r)
        PQclear(r)
        guard st == PGRES_COPY_IN else { throw failure(nil) }
        var ok = true
        data.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { c in
                var off = 0
                // In pieces: PQputCopyData takes an Int32 length.
                while off < c.count && ok {
                    let n = min(c.count - off, 1 << 20)
                    ok = PQputCopyData(conn, c.baseAddress! + off, Int32(n)) == 1
                    off += n
                }
            }
        }
        if !ok { throw failure(nil) }
        guard PQputCopyEnd(conn, nil) == 1 else { throw failure(nil) }
        var failed: StoreError?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK && failed == nil { failed = failure(r) }
            PQclear(r)
        }
        if let failed { throw failed }
    }
}
