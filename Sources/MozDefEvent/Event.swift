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
    /// `bytes` is already the whole event as compact JSON (a MozDef event passed through).
    public var passthrough = false

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
                    guard stack.count > 1 else { continue }  // unbalanced: ignore the stray end
                    let (k, o) = stack.removeLast()
                    stack[stack.count - 1].object.append(k, .object(o))
                default:
                    stack[stack.count - 1].object.append(key(f), value(f))
                }
            }
            while stack.count > 1 {  // unclosed objects end with the details
                let (k, o) = stack.removeLast()
                stack[stack.count - 1].object.append(k, .object(o))
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
        bytes.withUnsafeBufferPointer { String(decoding: f.keyBytes($0), as: UTF8.self) }
    }

    func value(_ f: DetailField) -> JSONValue {
        switch f.kind {
        case .slice: .string(String(decoding: bytes[Int(f.a)..<Int(f.a + f.b)], as: UTF8.self))
        case .literal: .string(String(decoding: UnsafeBufferPointer(start: f.valuePointer, count: Int(f.b)), as: UTF8.self))
        case .int: .int(f.number)
        case .bool: .bool(f.number != 0)
        case .raw:
            (f.valuePointer.map { p in try? JSONReader.parse(UnsafeBufferPointer(start: p, count: Int(f.b))) }
                ?? bytes.withUnsafeBufferPointer { b in try? JSONReader.parse(UnsafeBufferPointer(rebasing: b[Int(f.a)..<Int(f.a + f.b)])) }) ?? .null
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
/// The layout is C's (`mds_field`), so the JSON writer hands the whole list to
/// one C loop; destroying an array of these is a single free.
public struct DetailField: @unchecked Sendable {
    public enum Kind: UInt8, Sendable { case slice, literal, int, bool, objectStart, objectEnd, raw }
    @usableFromInline var raw: mds_field

    public var kind: Kind { Kind(rawValue: raw.kind)! }
    /// A static key, or nil when the key is the slice keyA..<keyA+keyB.
    public var keyPointer: UnsafePointer<UInt8>? { raw.key_ptr }
    public var keyA: UInt32 { raw.key_a }
    public var keyB: UInt32 { raw.key_b }
    public var valuePointer: UnsafePointer<UInt8>? { raw.val_ptr }
    public var a: UInt32 { raw.a }
    public var b: UInt32 { raw.b }
    public var number: Int64 { raw.number }

    @inline(__always) init(key: StaticString, kind: Kind, valuePointer: UnsafePointer<UInt8>? = nil,
                           a: UInt32 = 0, b: UInt32 = 0, number: Int64 = 0) {
        raw = mds_field(key_ptr: key.utf8Start, val_ptr: valuePointer, number: number,
                        key_a: 0, key_b: UInt32(key.utf8CodeUnitCount), a: a, b: b, kind: kind.rawValue)
    }

    @inline(__always) init(keySlice k: Range<Int>, kind: Kind, a: UInt32 = 0, b: UInt32 = 0) {
        raw = mds_field(key_ptr: nil, val_ptr: nil, number: 0,
                        key_a: UInt32(k.lowerBound), key_b: UInt32(k.count), a: a, b: b, kind: kind.rawValue)
    }

    /// Any field, keyed by `keyPointer[0..<keyCount]` (plain text that lives as long as the event's
    /// writer needs it) or, when `keyPointer` is nil, by `bytes[keyStart..<keyStart+keyCount]`.
    @inline(__always) public init(kind: Kind, keyPointer: UnsafePointer<UInt8>?, keyStart: UInt32 = 0, keyCount: UInt32,
                                  valuePointer: UnsafePointer<UInt8>? = nil, a: UInt32 = 0, b: UInt32 = 0, number: Int64 = 0) {
        raw = mds_field(key_ptr: keyPointer, val_ptr: valuePointer, number: number,
                        key_a: keyStart, key_b: keyCount, a: a, b: b, kind: kind.rawValue)
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
        UnsafeBufferPointer(start: raw.key_ptr ?? bytes.baseAddress.map { $0 + Int(raw.key_a) }, count: Int(raw.key_b))
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
        if e.passthrough {
            e.bytes.withUnsafeBufferPointer { append($0) }
            return
        }
        e.bytes.withUnsafeBufferPointer { b in
            raw(UInt8(ascii: "{"))
            key("timestamp", first: true)
            let start = count
            timestamp(e.timestamp, utc: false)
            key("utctimestamp")
            if e.timestamp.offsetSeconds == 0 {
                // The same text: copy it rather than render it again.
                let n = count - start - 16  // less `,"utctimestamp":`
                reserve(n)
                (base + count).update(from: base + start, count: n)
                count += n
            } else {
                timestamp(e.timestamp, utc: true)
            }
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
        if !e.detailFields.isEmpty {
            e.detailFields.withUnsafeBufferPointer { fs in
                fs.withMemoryRebound(to: mds_field.self) { raw in
                    reserve(mds_json_fields_bound(raw.baseAddress!, raw.count))
                    count += mds_json_fields(base + count, raw.baseAddress!, raw.count, b.baseAddress, 0)
                }
            }
            comma = true
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
            count += mds_json_member(base + count, 1, k.utf8Start, k.utf8CodeUnitCount, 1, b.baseAddress.map { $0 + Int(s) }, Int(n))
        } else {
            key(k)
            text(t, in: b)
        }
    }

    @inline(__always) mutating func text(_ t: Text, in b: UnsafeBufferPointer<UInt8>) {
        switch t {
        case .slice(let s, let n): appendEscaped(UnsafeBufferPointer(start: b.baseAddress.map { $0 + Int(s) }, count: Int(n)))
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
