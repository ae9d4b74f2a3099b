import CFastPath
import MozDefEvent
#if canImport(Glibc)
import Glibc
#endif

/// Sends events to Elasticsearch or OpenSearch with the bulk API (`POST /_bulk`, NDJSON: an
/// `{"index":{"_index":…}}` action line before each event), into MozDef's daily indexes
/// (`events-YYYYMMDD`) by default.
///
/// The answer is read item by item, as the bulk API documents it: a 200 can hold failed
/// items. An item that failed with 429 (the node's write queue was full), 408 or 5xx is sent
/// again after a backoff, alone with the other failed ones; an item that failed with another
/// status (a mapping error, say) is rejected: it goes to `onReject` with the item's error and
/// is not sent again. A whole request answered 408, 429 or 5xx, or lost with its connection,
/// is sent again; one answered 413 is split in two until it fits.
public final class ElasticsearchSink: EventSink {
    public struct Options: Sendable {
        /// The index name; strftime's %Y, %m and %d take the event's utctimestamp date (UTC).
        public var index = "events-%Y%m%d"
        public var http = HTTPSink.Options()
        public init() {}
    }

    /// The es+http(s):// URL, for messages.
    public let name: String
    public let options: Options
    public var report: (String) -> Void = { _ in }
    public var shouldStop: () -> Bool = { false }
    /// Rejected events (one call per event): the event, the status and the item's error.
    public var onReject: (UnsafeBufferPointer<UInt8>, Int, String) throws(LineOutput.WriteError) -> Void = { _, _, _ in }

    public private(set) var delivered = 0
    public private(set) var rejected = 0
    public private(set) var retries = 0
    /// Items sent again after a per-item 429/5xx.
    public private(set) var itemRetries = 0

    /// One event in a batch: its action line starts at `start`, its document at `source`,
    /// and both end before `end` (the document's line feed).
    struct Item {
        var start: Int
        var source: Int
        var end: Int
    }

    private var body: [UInt8] = []
    private var items: [Item] = []
    private var batchStarted = 0.0
    private let pipeline: HTTPPipeline
    private var indexName: IndexName

    /// `url`: es+http://host:port[/prefix] or es+https://…
    public init(url: String, options: Options) {
        name = url
        self.options = options
        var base = url.hasPrefix("es+") ? String(url.dropFirst(3)) : url
        // A query (?pipeline=…) stays after the path, which gains /_bulk.
        var query = ""
        if let q = base.firstIndex(of: "?") {
            query = String(base[q...])
            base = String(base[..<q])
        }
        while base.hasSuffix("/") { base.removeLast() }
        pipeline = HTTPPipeline(url: base + "/_bulk" + query, options: options.http, depth: 1, contentType: "application/x-ndjson")
        indexName = IndexName(options.index)
    }

    public var statsLine: String? {
        "\(name): \(delivered) delivered, \(rejected) rejected, \(itemRetries) items sent again, \(retries) retries, \(pipeline.requests) requests"
    }

    /// Why an index name is not one Elasticsearch takes (its documented rules), or nil.
    public static func invalidIndex(_ template: String) -> String? {
        let sample = IndexName(template).render(year: 2026, month: 1, day: 1)
        let s = String(decoding: sample, as: UTF8.self)
        if s.isEmpty { return "empty" }
        if s != s.lowercased() { return "must be lowercase" }
        if let c = s.first(where: { "\\/*?\"<>| ,#:".contains($0) }) { return "must not contain '\(c)'" }
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "must not contain control characters" }
        if let f = s.first, "-_+".contains(f) { return "must not start with '\(f)'" }
        if s == "." || s == ".." { return "must not be . or .." }
        if sample.count > 255 { return "longer than 255 bytes" }
        return nil
    }

    // MARK: EventSink

    public func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        try forEachLine(bytes) { line throws(LineOutput.WriteError) in
            if items.isEmpty { batchStarted = Clock.monotonicSeconds() }
            let start = body.count
            body.append(contentsOf: Self.actionHead)
            body.append(contentsOf: indexName.name(for: line))
            body.append(contentsOf: Self.actionTail)
            let source = body.count
            body.append(contentsOf: line)
            items.append(Item(start: start, source: source, end: body.count))
            body.append(0x0A)
            if items.count >= max(1, options.http.batch) { try sendBatch() }
        }
        if !items.isEmpty, let wait = options.http.batchWait, Clock.monotonicSeconds() - batchStarted >= wait { try sendBatch() }
    }

    public var holdFor: Double? {
        guard !items.isEmpty, let wait = options.http.batchWait else { return nil }
        let left = batchStarted + wait - Clock.monotonicSeconds()
        return left > 0 ? left : nil
    }

    public func flush() throws(LineOutput.WriteError) {
        if !items.isEmpty { try sendBatch() }
    }

    public func sync() throws(LineOutput.WriteError) {}
    public func reopen() throws(LineOutput.WriteError) {}

    static let actionHead = Array(#"{"index":{"_index":""#.utf8)
    static let actionTail = Array(#""}}"#.utf8) + [0x0A]

    private func sendBatch() throws(LineOutput.WriteError) {
        let b = body, its = items
        body.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
        try send(b, its)
    }

    // MARK: requests

    /// Sends one bulk request until each of its items is delivered or rejected.
    private func send(_ first: [UInt8], _ firstItems: [Item]) throws(LineOutput.WriteError) {
        var body = first, items = firstItems
        var delay = 0.1
        var reported = false
        while !items.isEmpty {
            let (answers, failure) = pipeline.exchange([body][...])
            guard let a = answers.first else {
                try backoff(failure ?? "no answer", &delay, &reported)
                continue
            }
            switch a.status {
            case 200..<300:
                guard let outcome = Self.outcome(a.body, count: items.count) else {
                    try backoff("HTTP \(a.status) with a body that is not a bulk response", &delay, &reported)
                    continue
                }
                var again: [Item] = []
                for (item, r) in zip(items, outcome) {
                    switch r.status {
                    case 200..<300:
                        delivered += 1
                    case 408, 429, 500..<600:
                        again.append(item)
                    default:
                        rejected += 1
                        try body.withUnsafeBufferPointer { b throws(LineOutput.WriteError) in
                            try onReject(UnsafeBufferPointer(rebasing: b[item.source..<item.end]), r.status, r.error)
                        }
                    }
                }
                if again.isEmpty {
                    if reported { report("\(name): delivering again") }
                    return
                }
                itemRetries += again.count
                let why = outcome.first { $0.status == 429 || $0.status >= 500 || $0.status == 408 }.map { "\($0.status) \($0.error)" } ?? ""
                (body, items) = Self.rebuild(body, again)
                try backoff("\(again.count) items refused for now (\(why))", &delay, &reported)
            case 408, 429, 500..<600:
                try backoff("HTTP \(a.status)", &delay, &reported)
            case 413 where items.count > 1:
                // Too large for the server's http.max_content_length: halves, each on its own.
                let half = items.count / 2
                let (b1, i1) = Self.rebuild(body, Array(items[..<half]))
                let (b2, i2) = Self.rebuild(body, Array(items[half...]))
                try send(b1, i1)
                try send(b2, i2)
                return
            default:
                let text = String(decoding: a.body.prefix(4096), as: UTF8.self)
                rejected += items.count
                for item in items {
                    try body.withUnsafeBufferPointer { b throws(LineOutput.WriteError) in
                        try onReject(UnsafeBufferPointer(rebasing: b[item.source..<item.end]), a.status, text)
                    }
                }
                return
            }
        }
    }

    /// A body holding only `items` of `body`, and their places in it.
    static func rebuild(_ body: [UInt8], _ items: [Item]) -> ([UInt8], [Item]) {
        var b: [UInt8] = []
        var out: [Item] = []
        out.reserveCapacity(items.count)
        for it in items {
            let start = b.count
            b.append(contentsOf: body[it.start..<it.end])
            out.append(Item(start: start, source: start + (it.source - it.start), end: b.count))
            b.append(0x0A)
        }
        return (b, out)
    }

    struct ItemResult {
        var status: Int
        var error: String
    }

    /// Each item's status and error, in request order; nil when the body is not a bulk
    /// response for `count` items. Without `"errors": true` every item succeeded.
    static func outcome(_ body: [UInt8], count: Int) -> [ItemResult]? {
        guard case .object(let o)? = try? body.withUnsafeBufferPointer({ b throws(JSONReadError) in try JSONReader.parse(b) }) else { return nil }
        if case .bool(false)? = o["errors"] { return Array(repeating: ItemResult(status: 200, error: ""), count: count) }
        guard case .array(let list)? = o["items"], list.count == count else { return nil }
        var out: [ItemResult] = []
        out.reserveCapacity(count)
        for v in list {
            // {"index": {"status": 201, …}} or, failed, {"index": {"status": 400, "error": {…}}}
            guard case .object(let wrapper) = v, let first = wrapper.members.first, case .object(let r) = first.value,
                  case .int(let status)? = r["status"] else { return nil }
            var error = ""
            if case .object(let e)? = r["error"] {
                error = (e["type"]?.stringValue ?? "error") + ": " + (e["reason"]?.stringValue ?? "")
            } else if let s = r["error"]?.stringValue {
                error = s
            }
            out.append(ItemResult(status: Int(status), error: error))
        }
        return out
    }

    private func backoff(_ why: String, _ delay: inout Double, _ reported: inout Bool) throws(LineOutput.WriteError) {
        retries += 1
        try pauseBeforeRetry(name, why, &delay, &reported, shouldStop: shouldStop, report: report)
    }
}

/// The index of an event: a template whose %Y, %m and %d take the date of the event's
/// utctimestamp (the day it happened, as Logstash's and Filebeat's daily indexes do), or
/// today's date (UTC) when it has none. The last date's name is kept: events of a file
/// mostly share a day.
struct IndexName {
    enum Part {
        case text([UInt8])
        case year, month, day
    }

    let parts: [Part]
    let constant: [UInt8]?
    /// YYYYMMDD of the last name made (0: none yet).
    private var lastDate = 0
    private var lastName: [UInt8] = []

    init(_ template: String) {
        var parts: [Part] = []
        var text: [UInt8] = []
        let b = Array(template.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 1 < b.count, [0x59, 0x6D, 0x64, 0x25].contains(b[i + 1]) {  // %Y %m %d %%
                if b[i + 1] == 0x25 {
                    text.append(0x25)
                } else {
                    if !text.isEmpty { parts.append(.text(text)); text = [] }
                    parts.append(b[i + 1] == 0x59 ? .year : b[i + 1] == 0x6D ? .month : .day)
                }
                i += 2
            } else {
                text.append(b[i])
                i += 1
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
        var fixed: [UInt8]? = []
        for p in parts {
            if case .text(let t) = p { fixed?.append(contentsOf: t) } else { fixed = nil }
        }
        constant = fixed
    }

    func render(year: Int, month: Int, day: Int) -> [UInt8] {
        var out: [UInt8] = []
        func digits(_ v: Int, _ n: Int) {
            var s = Array(String(v).utf8)
            while s.count < n { s.insert(0x30, at: 0) }
            out.append(contentsOf: s)
        }
        for p in parts {
            switch p {
            case .text(let t): out.append(contentsOf: t)
            case .year: digits(year, 4)
            case .month: digits(month, 2)
            case .day: digits(day, 2)
            }
        }
        return out
    }

    static let key = Array(#""utctimestamp":""#.utf8)

    /// The name for one event (a MozDef JSON line).
    mutating func name(for line: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        if let constant { return constant }
        var key = 0
        let found = line.isEmpty ? -1 : Self.key.withUnsafeBufferPointer { mds_find(line.baseAddress!, line.count, $0.baseAddress!, $0.count) }
        if found >= 0 {
            let at = found + Self.key.count
            if at + 10 <= line.count {
                // YYYY-MM-DD: eight digits read as the number YYYYMMDD.
                var v = 0
                for i in 0..<10 {
                    let c = line[at + i]
                    if i == 4 || i == 7 {
                        if c != 0x2D { v = -1; break }
                    } else if c >= 0x30 && c <= 0x39 {
                        v = v * 10 + Int(c - 0x30)
                    } else {
                        v = -1
                        break
                    }
                }
                if v > 0 { key = v }
            }
        }
        if key == 0 {
            var t = time(nil)
            var tm = tm()
            gmtime_r(&t, &tm)
            key = (Int(tm.tm_year) + 1900) * 10000 + (Int(tm.tm_mon) + 1) * 100 + Int(tm.tm_mday)
        }
        if key == lastDate { return lastName }
        lastName = render(year: key / 10000, month: key / 100 % 100, day: key % 100)
        lastDate = key
        return lastName
    }
}
