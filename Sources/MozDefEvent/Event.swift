import CFastPath

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
    /// When the SIEM received the event. MozDef sets it itself on receipt (and drops
    /// any value sent), so a shipper leaves it nil and the writer omits it.
    public var receivedTimestamp: Timestamp?
    public var severity: Severity?
    public var tags: [String]

    /// Valid UTF-8 that `.slice` texts point into. Whoever sets it keeps the slices valid.
    public var bytes: [UInt8]
    public var categoryText: Text
    public var hostnameText: Text?
    public var processidText: Text?
    public var processnameText: Text?
    public var sourceText: Text?
    public var summaryText: Text
    /// Details in compact form (slices, literals, numbers; written first), then any
    /// others as JSON values. See `details` for the JSONObject view of both.
    public var detailFields: [DetailField]
    public var extraDetails: JSONObject

    public init(timestamp: Timestamp, receivedTimestamp: Timestamp? = nil, category: String,
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
        detailFields = []
        extraDetails = details
    }

    /// An event over `bytes` (which must be valid UTF-8), for translators that fill
    /// its fields with slices of them.
    public init(bytes: [UInt8], timestamp: Timestamp, receivedTimestamp: Timestamp? = nil, category: Text, summary: Text) {
        self.timestamp = timestamp
        self.receivedTimestamp = receivedTimestamp
        self.bytes = bytes
        severity = nil
        tags = []
        categoryText = category
        summaryText = summary
        detailFields = []
        extraDetails = JSONObject()
    }

    /// Empties the event for reuse, keeping the capacity of its arrays so that a
    /// translator refilling it per record allocates nothing.
    public mutating func reset(timestamp: Timestamp, receivedTimestamp: Timestamp? = nil, category: Text, summary: Text) {
        self.timestamp = timestamp
        self.receivedTimestamp = receivedTimestamp
        severity = nil
        if !tags.isEmpty { tags = [] }
        categoryText = category
        hostnameText = nil
        processidText = nil
        processnameText = nil
        sourceText = nil
        summaryText = summary
        detailFields.removeAll(keepingCapacity: true)
        if !extraDetails.isEmpty { extraDetails = JSONObject() }
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
            var stack: [(key: String, object: JSONObject)] = [("", JSONObject())]
            for f in detailFields {
                switch f.kind {
                case .objectStart:
                    stack.append((key(f), JSONObject()))
                case .objectEnd:
                    let (k, o) = stack.removeLast()
                    stack[stack.count - 1].object.append(k, .object(o))
                default:
                    stack[stack.count - 1].object.append(key(f), value(f))
                }
            }
            var o = stack[0].object
            for m in extraDetails.members { o.append(m.key, m.value) }
            return o
        }
        set {
            detailFields = []
            extraDetails = newValue
        }
    }

    func key(_ f: DetailField) -> String {
        if let p = f.keyPointer { return String(decoding: UnsafeBufferPointer(start: p, count: Int(f.keyB)), as: UTF8.self) }
        return String(decoding: bytes[Int(f.keyA)..<Int(f.keyA + f.keyB)], as: UTF8.self)
    }

    func value(_ f: DetailField) -> JSONValue {
        switch f.kind {
        case .slice: .string(String(decoding: bytes[Int(f.a)..<Int(f.a + f.b)], as: UTF8.self))
        case .literal: .string(String(decoding: UnsafeBufferPointer(start: f.valuePointer, count: Int(f.b)), as: UTF8.self))
        case .int: .int(f.number)
        case .bool: .bool(f.number != 0)
        case .objectStart, .objectEnd: .null
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

/// One detail in compact, trivially copyable form: keys and string values are
/// static literals or ranges of the event's bytes; nested objects are written as
/// `objectStart` … `objectEnd` runs. Literal pointers refer to static storage.
/// Destroying an array of these is a single free, which matters per record.
public struct DetailField: @unchecked Sendable {
    public enum Kind: UInt8, Sendable { case slice, literal, int, bool, objectStart, objectEnd }
    /// A static key, or nil when the key is the slice keyA..<keyA+keyB.
    public var keyPointer: UnsafePointer<UInt8>?
    public var keyA: UInt32
    public var keyB: UInt32
    public var kind: Kind
    public var valuePointer: UnsafePointer<UInt8>?
    public var a: UInt32
    public var b: UInt32
    public var number: Int64

    @inline(__always) init(key: StaticString, kind: Kind, valuePointer: UnsafePointer<UInt8>? = nil,
                           a: UInt32 = 0, b: UInt32 = 0, number: Int64 = 0) {
        keyPointer = key.utf8Start
        keyA = 0
        keyB = UInt32(key.utf8CodeUnitCount)
        self.kind = kind
        self.valuePointer = valuePointer
        self.a = a
        self.b = b
        self.number = number
    }

    @inline(__always) init(keySlice k: Range<Int>, kind: Kind, a: UInt32 = 0, b: UInt32 = 0) {
        keyPointer = nil
        keyA = UInt32(k.lowerBound)
        keyB = UInt32(k.count)
        self.kind = kind
        valuePointer = nil
        self.a = a
        self.b = b
        number = 0
    }

    /// `key: bytes[r]`
    @inline(__always) public static func slice(_ key: StaticString, _ r: Range<Int>) -> DetailField {
        DetailField(key: key, kind: .slice, a: UInt32(r.lowerBound), b: UInt32(r.count))
    }
    /// `bytes[key]: bytes[r]`
    @inline(__always) public static func slice(key k: Range<Int>, _ r: Range<Int>) -> DetailField {
        DetailField(keySlice: k, kind: .slice, a: UInt32(r.lowerBound), b: UInt32(r.count))
    }
    /// A literal value: plain ASCII.
    @inline(__always) public static func literal(_ key: StaticString, _ v: StaticString) -> DetailField {
        DetailField(key: key, kind: .literal, valuePointer: v.utf8Start, b: UInt32(v.utf8CodeUnitCount))
    }
    @inline(__always) public static func int(_ key: StaticString, _ v: Int64) -> DetailField {
        DetailField(key: key, kind: .int, number: v)
    }
    @inline(__always) public static func bool(_ key: StaticString, _ v: Bool) -> DetailField {
        DetailField(key: key, kind: .bool, number: v ? 1 : 0)
    }
    @inline(__always) public static func objectStart(_ key: StaticString) -> DetailField {
        DetailField(key: key, kind: .objectStart)
    }
    @inline(__always) public static func objectStart(key k: Range<Int>) -> DetailField {
        DetailField(keySlice: k, kind: .objectStart)
    }
    public static var objectEnd: DetailField { DetailField(key: "", kind: .objectEnd) }

    /// The key's bytes (static, or in the event's bytes).
    @inline(__always) func keyBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: keyPointer ?? bytes.baseAddress! + Int(keyA), count: Int(keyB))
    }

    /// True when the keys are the same bytes.
    public func sameKey(as other: DetailField, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let x = keyBytes(bytes), y = other.keyBytes(bytes)
        return x.count == y.count && x.elementsEqual(y)
    }
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
            if let r = e.receivedTimestamp {
                key("receivedtimestamp")
                timestamp(r, utc: true)
            }
            key("category")
            text(e.categoryText, in: b)
            if let v = e.hostnameText { member("hostname", v, in: b) }
            if let v = e.processidText { member("processid", v, in: b) }
            if let v = e.processnameText { member("processname", v, in: b) }
            if let v = e.severity {
                key("severity")
                literal(v.name)
            }
            if let v = e.sourceText { key("source"); text(v, in: b) }
            member("summary", e.summaryText, in: b)
            key("tags")
            raw(UInt8(ascii: "["))
            for (i, t) in e.tags.enumerated() {
                if i > 0 { raw(UInt8(ascii: ",")) }
                string(t)
            }
            raw(UInt8(ascii: "]"))
            key("details")
            details(e, in: b)
            raw(UInt8(ascii: "}"))
        }
    }

    mutating func details(_ e: Event, in b: UnsafeBufferPointer<UInt8>) {
        raw(UInt8(ascii: "{"))
        var comma = false
        e.detailFields.withUnsafeBufferPointer { fs in
            for i in fs.indices {
                let f = fs[i]
                if f.kind == .objectEnd {
                    raw(UInt8(ascii: "}"))
                    comma = true
                    continue
                }
                if f.kind == .slice {
                    // The common member, in one call: literal keys are copied as they are
                    // (plain ASCII by construction), slices of the record escaped.
                    let kb = f.keyBytes(b)
                    reserve(6 * (kb.count + Int(f.b)) + 24)
                    count += mds_json_member(base + count, comma ? 1 : 0, kb.baseAddress!, kb.count,
                                             f.keyPointer != nil ? 1 : 0, b.baseAddress! + Int(f.a), Int(f.b))
                    comma = true
                    continue
                }
                if comma { raw(UInt8(ascii: ",")) }
                // Literal keys and values are plain ASCII by construction and copied as
                // they are; slices (valid UTF-8 from the record) are escaped.
                if let k = f.keyPointer {
                    plain(k, Int(f.keyB), colon: true)
                } else {
                    appendEscaped(f.keyBytes(b))
                    raw(UInt8(ascii: ":"))
                }
                comma = true
                switch f.kind {
                case .slice: appendEscaped(UnsafeBufferPointer(start: b.baseAddress! + Int(f.a), count: Int(f.b)))
                case .literal: plain(f.valuePointer!, Int(f.b), colon: false)
                case .int: int(f.number)
                case .bool: bool(f.number != 0)
                case .objectStart:
                    raw(UInt8(ascii: "{"))
                    comma = false
                case .objectEnd: break
                }
            }
        }
        for m in e.extraDetails.members {
            if comma { raw(UInt8(ascii: ",")) }
            comma = true
            string(m.key)
            raw(UInt8(ascii: ":"))
            value(m.value)
        }
        raw(UInt8(ascii: "}"))
    }

    /// `,"key":text`, in one call for slices.
    @inline(__always) mutating func member(_ k: StaticString, _ t: Text, in b: UnsafeBufferPointer<UInt8>) {
        if case .slice(let s, let n) = t {
            reserve(6 * Int(n) + k.utf8CodeUnitCount + 24)
            count += mds_json_member(base + count, 1, k.utf8Start, k.utf8CodeUnitCount, 1, b.baseAddress! + Int(s), Int(n))
        } else {
            key(k)
            text(t, in: b)
        }
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
        plain(l.utf8Start, l.utf8CodeUnitCount, colon: false)
    }

    /// `"bytes"` (and `:`), copied without escaping: literals only.
    @inline(__always) mutating func plain(_ p: UnsafePointer<UInt8>, _ n: Int, colon: Bool) {
        reserve(n + 3)
        count += mds_json_plain(base + count, p, n, colon ? 1 : 0)
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
