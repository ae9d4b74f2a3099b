/// A MozDef event: lowercase keys, schema fields at the top level and everything
/// else under `details` (see MozDef's json_format documentation).
///
/// Text fields are stored as ranges of the event's own `bytes` (the record plus any
/// text a translator derived), as static literals, or as Strings. Translators fill
/// events without making a String per field; the JSON writer copies the bytes
/// straight out. The String-typed properties materialise text on demand.
///
/// Optional fields are omitted from the JSON when the source does not carry them;
/// MozDef fills its own defaults ("UNKNOWN") for missing ones at save time.
public struct Event: Sendable {
    /// When the source says the event happened, in the source's offset.
    public var timestamp: Timestamp
    /// When mozdef-ship read the record.
    public var receivedTimestamp: Timestamp
    public var severity: Severity?
    public var tags: [String]

    /// Valid UTF-8 that `.slice` texts point into.
    public private(set) var bytes: [UInt8]
    public var categoryText: Text
    public var hostnameText: Text?
    public var processidText: Text?
    public var processnameText: Text?
    public var sourceText: Text?
    public var summaryText: Text
    /// `details` in its stored form; see `details` for the JSONObject view.
    public var detailMembers: [Detail]

    public init(timestamp: Timestamp, receivedTimestamp: Timestamp, category: String,
                hostname: String? = nil, processid: String? = nil, processname: String? = nil,
                severity: Severity? = nil, source: String? = nil, summary: String,
                tags: [String] = [], details: JSONObject = JSONObject()) {
        self.timestamp = timestamp
        self.receivedTimestamp = receivedTimestamp
        self.severity = severity
        self.tags = tags
        bytes = []
        categoryText = .string(category)
        hostnameText = hostname.map(Text.string)
        processidText = processid.map(Text.string)
        processnameText = processname.map(Text.string)
        sourceText = source.map(Text.string)
        summaryText = .string(summary)
        detailMembers = details.members.map { Detail(key: .string($0.key), value: .json($0.value)) }
    }

    /// An event over `bytes` (which must be valid UTF-8), for translators that fill
    /// its fields with slices of them.
    public init(bytes: [UInt8], timestamp: Timestamp, receivedTimestamp: Timestamp, category: Text, summary: Text) {
        self.timestamp = timestamp
        self.receivedTimestamp = receivedTimestamp
        self.bytes = bytes
        severity = nil
        tags = []
        categoryText = category
        summaryText = summary
        detailMembers = []
    }

    /// Adds derived text (e.g. an unescaped value) to the event's bytes; valid UTF-8 only.
    public mutating func appendText(_ p: UnsafeBufferPointer<UInt8>) -> Text {
        let start = bytes.count
        bytes.append(contentsOf: p)
        return .slice(start: UInt32(start), count: UInt32(p.count))
    }

    public func string(_ t: Text) -> String {
        switch t {
        case .slice(let s, let n): String(decoding: bytes[Int(s)..<Int(s + n)], as: UTF8.self)
        case .literal(let l): l.description
        case .string(let s): s
        }
    }

    public var category: String {
        get { string(categoryText) }
        set { categoryText = .string(newValue) }
    }
    public var hostname: String? {
        get { hostnameText.map(string) }
        set { hostnameText = newValue.map(Text.string) }
    }
    public var processid: String? {
        get { processidText.map(string) }
        set { processidText = newValue.map(Text.string) }
    }
    public var processname: String? {
        get { processnameText.map(string) }
        set { processnameText = newValue.map(Text.string) }
    }
    public var source: String? {
        get { sourceText.map(string) }
        set { sourceText = newValue.map(Text.string) }
    }
    public var summary: String {
        get { string(summaryText) }
        set { summaryText = .string(newValue) }
    }

    /// The details as a JSON object (materialised; setting replaces them).
    public var details: JSONObject {
        get {
            var o = JSONObject()
            o.members = detailMembers.map { JSONObject.Member(key: string($0.key), value: json($0.value)) }
            return o
        }
        set { detailMembers = newValue.members.map { Detail(key: .string($0.key), value: .json($0.value)) } }
    }

    func json(_ v: DetailValue) -> JSONValue {
        switch v {
        case .text(let t): .string(string(t))
        case .json(let j): j
        case .object(let members):
            .object(JSONObject(members: members.map { JSONObject.Member(key: string($0.key), value: json($0.value)) }))
        }
    }
}

/// Text stored in an event: a range of its bytes, a static literal, or a String.
public enum Text: Sendable {
    case slice(start: UInt32, count: UInt32)
    /// Must be plain ASCII needing no JSON escaping (it is copied as is).
    case literal(StaticString)
    case string(String)

    public static func slice(_ r: Range<Int>) -> Text {
        .slice(start: UInt32(r.lowerBound), count: UInt32(r.count))
    }
}

/// One member of an event's details in stored form.
public struct Detail: Sendable {
    public var key: Text
    public var value: DetailValue
    public init(key: Text, value: DetailValue) {
        self.key = key
        self.value = value
    }
    public init(_ key: StaticString, _ value: DetailValue) {
        self.key = .literal(key)
        self.value = value
    }
}

public enum DetailValue: Sendable {
    case text(Text)
    case json(JSONValue)
    /// A nested object whose members may be slices too (e.g. structured data).
    case object([Detail])
}

extension Event: Equatable {
    /// Events are equal when they read the same, wherever their text is stored.
    public static func == (a: Event, b: Event) -> Bool {
        a.timestamp == b.timestamp && a.receivedTimestamp == b.receivedTimestamp && a.severity == b.severity
            && a.tags == b.tags && a.category == b.category && a.hostname == b.hostname
            && a.processid == b.processid && a.processname == b.processname && a.source == b.source
            && a.summary == b.summary && a.details == b.details
    }
}

extension JSONWriter {
    /// Writes the event as one JSON object in a fixed key order.
    public mutating func event(_ e: Event) {
        e.bytes.withUnsafeBufferPointer { b in
            raw(UInt8(ascii: "{"))
            key("timestamp", first: true)
            timestamp(e.timestamp, utc: false)
            key("utctimestamp")
            timestamp(e.timestamp, utc: true)
            key("receivedtimestamp")
            timestamp(e.receivedTimestamp, utc: true)
            key("category")
            text(e.categoryText, in: b)
            if let v = e.hostnameText { key("hostname"); text(v, in: b) }
            if let v = e.processidText { key("processid"); text(v, in: b) }
            if let v = e.processnameText { key("processname"); text(v, in: b) }
            if let v = e.severity {
                key("severity")
                literal(v.name)
            }
            if let v = e.sourceText { key("source"); text(v, in: b) }
            key("summary")
            text(e.summaryText, in: b)
            key("tags")
            raw(UInt8(ascii: "["))
            for (i, t) in e.tags.enumerated() {
                if i > 0 { raw(UInt8(ascii: ",")) }
                string(t)
            }
            raw(UInt8(ascii: "]"))
            key("details")
            details(e.detailMembers, in: b)
            raw(UInt8(ascii: "}"))
        }
    }

    mutating func details(_ members: [Detail], in b: UnsafeBufferPointer<UInt8>) {
        raw(UInt8(ascii: "{"))
        members.withUnsafeBufferPointer { ms in
            for i in ms.indices {
                if i > 0 { raw(UInt8(ascii: ",")) }
                text(ms[i].key, in: b)
                raw(UInt8(ascii: ":"))
                switch ms[i].value {
                case .text(let t): text(t, in: b)
                case .json(let v): value(v)
                case .object(let inner): details(inner, in: b)
                }
            }
        }
        raw(UInt8(ascii: "}"))
    }

    @inline(__always) mutating func text(_ t: Text, in b: UnsafeBufferPointer<UInt8>) {
        switch t {
        case .slice(let s, let n): appendEscaped(UnsafeBufferPointer(start: b.baseAddress! + Int(s), count: Int(n)))
        case .literal(let l): literal(l)
        case .string(let s): string(s)
        }
    }

    /// A quoted literal known to need no escaping.
    @inline(__always) mutating func literal(_ l: StaticString) {
        let n = l.utf8CodeUnitCount
        reserve(n + 2)
        put(UInt8(ascii: "\""))
        (base + count).update(from: l.utf8Start, count: n)
        count += n
        put(UInt8(ascii: "\""))
    }
}

extension Event {
    /// The event as one line of JSON (no trailing newline).
    public var jsonString: String {
        var w = JSONWriter(capacity: 512)
        w.event(self)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
