import CSQLite
import Foundation
import MozDefEvent

/// Where events are kept. One small interface, so another engine can stand beside SQLite.
public protocol EventStore: Sendable {
    /// Stores the documents durably, then calls `done` (nil: committed) from another thread.
    func insert(_ docs: [StoredEvent], done: @escaping @Sendable (Error?) -> Void)
    /// Events received at or after `since`, newest first, that `match` accepts.
    func events(since: Int64?, limit: Int, match: @Sendable (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject])
    /// Deletes events received before `before` (microseconds since the epoch); how many.
    func expire(before: Int64) throws -> Int
    /// Events whose event time or receipt time is at or after `since` (µs), with their ids,
    /// oldest first, that `rule` (when given) has not used yet.
    func window(since: Int64, unusedBy rule: String?) throws -> [(id: Int64, doc: JSONObject)]
    /// Stores an alert and marks its events as used by `rule`, in one transaction; its id.
    /// Nil, and nothing stored, when one of the events was already used by `rule` (another
    /// receiver of a cluster raised this alert), or, with `unlessAlertSince`, when `rule` has
    /// an alert at or after that time (checked in the same transaction: a deadman rule run by
    /// two receivers at once stores one).
    func insertAlert(_ alert: JSONObject, utc: Int64, rule: String, events: [Int64], unlessAlertSince: Int64?) throws -> Int64?
    /// When `rule` last raised an alert (µs), if it has.
    func lastAlert(rule: String) throws -> Int64?
    /// Alerts raised at or after `since`, newest first.
    func alerts(since: Int64?, limit: Int) throws -> (total: Int, alerts: [JSONObject])
    /// Whether this receiver runs the scheduled rules: always for a store of its own; in a
    /// cluster, the one receiver holding the store's leader lock.
    func leads() -> Bool
    /// Events not stored because their message id was already there (copies delivered again).
    func duplicatesSkipped() -> Int
}

/// A count shared by threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
}

/// A normalized event ready to store: its JSON text and the columns that are indexed.
public struct StoredEvent: Sendable {
    public var json: [UInt8]
    public var utc: Int64
    public var received: Int64
    public var category: String
    public var hostname: String
    /// The AMQP message id, when the message had one: a message delivered again (after a
    /// receiver died between commit and ack) is then stored once.
    public var messageID: String?

    public init(_ doc: JSONObject, received: Timestamp, messageID: String? = nil) {
        self.messageID = messageID
        var w = JSONWriter(capacity: 1024)
        w.value(.object(doc))
        json = w.bytes
        self.received = received.epochMicroseconds
        if let s = doc["utctimestamp"]?.stringValue, let t = Timestamp.parseISO8601(s) {
            utc = t.timestamp.epochMicroseconds
        } else {
            utc = self.received
        }
        category = doc["category"]?.stringValue ?? ""
        hostname = doc["hostname"]?.stringValue ?? ""
    }
}

/// The indexes of the first schema, the same in both stores.
let schemaIndexes = """
    CREATE INDEX IF NOT EXISTS events_utc ON events(utc);
    CREATE INDEX IF NOT EXISTS events_received ON events(received);
    CREATE INDEX IF NOT EXISTS events_category ON events(category);
    CREATE INDEX IF NOT EXISTS events_hostname ON events(hostname);
    CREATE INDEX IF NOT EXISTS alerts_utc ON alerts(utc);
    CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(rule, utc);
    """

public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// SQLite in WAL mode with synchronous=FULL: a commit is on disk when it returns. Inserts
/// from concurrent requests are committed together (group commit): one thread writes, each
/// request waits for the transaction that holds its events.
public final class SQLiteStore: EventStore, @unchecked Sendable {
    private let db: OpaquePointer
    /// Queries read through their own connection: in WAL mode a reader never waits for the
    /// writer, so a long rule run does not hold up ingest.
    private let reader: OpaquePointer
    private let readLock = NSLock()
    private let queue = BatchQueue<(docs: [StoredEvent], done: @Sendable (Error?) -> Void)>()
    /// Serialises the writer thread and alert inserts on the writing connection.
    private let dbLock = NSLock()

    private static let configured: Void = { _ = mds_sqlite_fast_malloc() }()

    public init(directory: String) throws {
        _ = Self.configured
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var h: OpaquePointer?
        let path = directory + "/events.sqlite"
        guard sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let h else {
            throw StoreError(description: "\(path): cannot open: \(h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
        }
        db = h
        try Self.exec(h, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA cache_size=-65536;
            """)
        try Self.migrate(h)
        var r: OpaquePointer?
        guard sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let r else {
            throw StoreError(description: "\(path): cannot open for reading: \(r.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
        }
        reader = r
        // The writer keeps the store alive: it lives as long as the process.
        let t = Thread { self.writeLoop() }
        t.name = "sqlite-writer"
        t.start()
    }

    deinit {
        sqlite3_close_v2(reader)
        sqlite3_close_v2(db)
    }

    private func exec(_ sql: String) throws { try Self.exec(db, sql) }

    /// Schema steps, applied in order at start; the version reached is SQLite's user_version.
    /// A step is never edited once released: new ones are appended. Step 1 is the schema of
    /// the first release (whose stores are at version 0), so it only creates what is missing.
    static let migrations: [String] = [
        """
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY,
            utc INTEGER NOT NULL,
            received INTEGER NOT NULL,
            category TEXT NOT NULL,
            hostname TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS alerts (
            id INTEGER PRIMARY KEY,
            utc INTEGER NOT NULL,
            rule TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS rule_events (
            rule TEXT NOT NULL,
            event INTEGER NOT NULL,
            PRIMARY KEY (rule, event)) WITHOUT ROWID;
        \(schemaIndexes)
        """,
        """
        ALTER TABLE events ADD COLUMN msgid TEXT;
        CREATE UNIQUE INDEX events_msgid ON events(msgid) WHERE msgid IS NOT NULL;
        """,
    ]

    private static func migrate(_ db: OpaquePointer) throws {
        try Self.exec(db, "BEGIN IMMEDIATE")
        do {
            let stmt = try prepare(db, "PRAGMA user_version")
            let have = sqlite3_step(stmt) == SQLITE_ROW ? Int(sqlite3_column_int64(stmt, 0)) : 0
            sqlite3_finalize(stmt)
            if have > Self.migrations.count {
                throw StoreError(description: "the store's schema is at version \(have), newer than this receiver's \(Self.migrations.count): upgrade the receiver")
            }
            for (i, step) in Self.migrations.enumerated() where i + 1 > have { try Self.exec(db, step) }
            try Self.exec(db, "PRAGMA user_version=\(Self.migrations.count)")
            try Self.exec(db, "COMMIT")
        } catch {
            try? Self.exec(db, "ROLLBACK")
            throw error
        }
    }

    public func leads() -> Bool { true }

    private let duplicateCount = Counter()
    public func duplicatesSkipped() -> Int { duplicateCount.value }

    /// The connection's last error.
    private static func failure(_ conn: OpaquePointer) -> StoreError {
        StoreError(description: "sqlite: \(String(cString: sqlite3_errmsg(conn)))")
    }

    /// A prepared statement on `conn` (the caller finalizes it).
    private static func prepare(_ conn: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(conn, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else { throw failure(conn) }
        return stmt
    }

    private static func exec(_ db: OpaquePointer, _ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let m = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw StoreError(description: "sqlite: \(m)")
        }
    }

    public func insert(_ docs: [StoredEvent], done: @escaping @Sendable (Error?) -> Void) {
        if docs.isEmpty { return done(nil) }
        queue.put([(docs, done)])
    }

    /// Takes everything queued, commits it in one transaction, then answers every waiter.
    private func writeLoop() {
        while true {
            let batch = queue.takeAll()
            let result: Error?
            do {
                try commit(batch.map(\.docs))
                result = nil
            } catch {
                result = error
            }
            for b in batch { b.done(result) }
        }
    }

    private func commit(_ groups: [[StoredEvent]]) throws {
        dbLock.lock()
        defer { dbLock.unlock() }
        try exec("BEGIN IMMEDIATE")
        let stmt: OpaquePointer
        do {
            stmt = try Self.prepare(db, "INSERT OR IGNORE INTO events(utc, received, category, hostname, msgid, doc) VALUES (?,?,?,?,?,?)")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
        defer { sqlite3_finalize(stmt) }
        var skipped = 0
        for g in groups {
            for e in g {
                sqlite3_reset(stmt)
                sqlite3_bind_int64(stmt, 1, e.utc)
                sqlite3_bind_int64(stmt, 2, e.received)
                mds_sqlite_bind_text(stmt, 3, e.category, Int32(e.category.utf8.count))
                mds_sqlite_bind_text(stmt, 4, e.hostname, Int32(e.hostname.utf8.count))
                if let m = e.messageID { mds_sqlite_bind_text(stmt, 5, m, Int32(m.utf8.count)) } else { sqlite3_bind_null(stmt, 5) }
                // The document is bound without a copy (SQLITE_STATIC): it is stepped while
                // the buffer is in reach.
                let rc = e.json.withUnsafeBufferPointer { b in
                    b.withMemoryRebound(to: CChar.self) { c in
                        sqlite3_bind_text(stmt, 6, c.baseAddress, Int32(c.count), nil)
                        return sqlite3_step(stmt)
                    }
                }
                guard rc == SQLITE_DONE else {
                    let failed = Self.failure(db)
                    try? exec("ROLLBACK")
                    throw failed
                }
                if e.messageID != nil && sqlite3_changes(db) == 0 { skipped += 1 }  // its id was there
            }
        }
        try exec("COMMIT")
        if skipped > 0 { duplicateCount.add(skipped) }
    }

    public func events(since: Int64?, limit: Int, match: @Sendable (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject]) {
        try documents("SELECT doc FROM events WHERE received >= ? ORDER BY id DESC", since: since, limit: limit, match: match)
    }

    /// The documents (column 0) of a query bound to `since` that `match` accepts: how many,
    /// and the first `limit` of them.
    private func documents(_ sql: String, since: Int64?, limit: Int, match: (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject]) {
        readLock.lock()
        defer { readLock.unlock() }
        let stmt = try Self.prepare(reader, sql)
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_int64(stmt, 1, since ?? Int64.min)
        var total = 0
        var out: [JSONObject] = []
        while sqlite3_step(stmt) == SQLITE_ROW {
            guard let text = sqlite3_column_text(stmt, 0) else { continue }
            let n = Int(sqlite3_column_bytes(stmt, 0))
            guard case .object(let o)? = try? JSONReader.parse(UnsafeBufferPointer(start: text, count: n)) else { continue }
            if match(o) {
                total += 1
                if out.count < limit { out.append(o) }
            }
        }
        return (total, out)
    }

    public func expire(before: Int64) throws -> Int {
        dbLock.lock()
        defer { dbLock.unlock() }
        let stmt = try Self.prepare(db, "DELETE FROM events WHERE received < ?")
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_int64(stmt, 1, before)
        guard sqlite3_step(stmt) == SQLITE_DONE else { throw Self.failure(db) }
        return Int(sqlite3_changes(db))
    }

    public func window(since: Int64, unusedBy rule: String?) throws -> [(id: Int64, doc: JSONObject)] {
        readLock.lock()
        defer { readLock.unlock() }
        let sql = rule == nil ? "SELECT id, doc FROM events WHERE (utc >= ?1 OR received >= ?1) ORDER BY id" : """
            SELECT id, doc FROM events WHERE (utc >= ?1 OR received >= ?1)
            AND NOT EXISTS (SELECT 1 FROM rule_events r WHERE r.rule = ?2 AND r.event = events.id) ORDER BY id
            """
        let stmt = try Self.prepare(reader, sql)
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_int64(stmt, 1, since)
        if let rule { mds_sqlite_bind_text(stmt, 2, rule, Int32(rule.utf8.count)) }
        var out: [(Int64, JSONObject)] = []
        while sqlite3_step(stmt) == SQLITE_ROW {
            let id = sqlite3_column_int64(stmt, 0)
            guard let text = sqlite3_column_text(stmt, 1) else { continue }
            let n = Int(sqlite3_column_bytes(stmt, 1))
            if case .object(let o)? = try? JSONReader.parse(UnsafeBufferPointer(start: text, count: n)) { out.append((id, o)) }
        }
        return out
    }

    public func insertAlert(_ alert: JSONObject, utc: Int64, rule: String, events: [Int64], unlessAlertSince: Int64?) throws -> Int64? {
        dbLock.lock()
        defer { dbLock.unlock() }
        try exec("BEGIN IMMEDIATE")
        do {
            if let since = unlessAlertSince {
                let stmt = try Self.prepare(db, "SELECT max(utc) FROM alerts WHERE rule = ?")
                mds_sqlite_bind_text(stmt, 1, rule, Int32(rule.utf8.count))
                let last = sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL ? sqlite3_column_int64(stmt, 0) : nil
                sqlite3_finalize(stmt)
                if let last, last >= since {
                    try exec("ROLLBACK")
                    return nil
                }
            }
            for e in Set(events) {
                try run("INSERT OR IGNORE INTO rule_events(rule, event) VALUES (?,?)") { stmt in
                    mds_sqlite_bind_text(stmt, 1, rule, Int32(rule.utf8.count))
                    sqlite3_bind_int64(stmt, 2, e)
                }
                if sqlite3_changes(db) == 0 {  // already used by this rule: raised before
                    try exec("ROLLBACK")
                    return nil
                }
            }
            var w = JSONWriter(capacity: 1024)
            w.value(.object(alert))
            try run("INSERT INTO alerts(utc, rule, doc) VALUES (?,?,?)") { stmt in
                sqlite3_bind_int64(stmt, 1, utc)
                mds_sqlite_bind_text(stmt, 2, rule, Int32(rule.utf8.count))
                w.bytes.withUnsafeBufferPointer { b in
                    b.withMemoryRebound(to: CChar.self) { c in _ = mds_sqlite_bind_text(stmt, 3, c.baseAddress, Int32(c.count)) }
                }
            }
            let id = sqlite3_last_insert_rowid(db)
            try exec("COMMIT")
            return id
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// One statement, bound by `bind`, stepped to its end.
    private func run(_ sql: String, _ bind: (OpaquePointer?) -> Void) throws {
        let stmt = try Self.prepare(db, sql)
        defer { sqlite3_finalize(stmt) }
        bind(stmt)
        guard sqlite3_step(stmt) == SQLITE_DONE else { throw Self.failure(db) }
    }

    public func lastAlert(rule: String) throws -> Int64? {
        readLock.lock()
        defer { readLock.unlock() }
        let stmt = try Self.prepare(reader, "SELECT max(utc) FROM alerts WHERE rule = ?")
        defer { sqlite3_finalize(stmt) }
        mds_sqlite_bind_text(stmt, 1, rule, Int32(rule.utf8.count))
        guard sqlite3_step(stmt) == SQLITE_ROW, sqlite3_column_type(stmt, 0) != SQLITE_NULL else { return nil }
        return sqlite3_column_int64(stmt, 0)
    }

    public func alerts(since: Int64?, limit: Int) throws -> (total: Int, alerts: [JSONObject]) {
        let r = try documents("SELECT doc FROM alerts WHERE utc >= ? ORDER BY id DESC", since: since, limit: limit) { _ in true }
        return (r.total, r.events)
    }
}
