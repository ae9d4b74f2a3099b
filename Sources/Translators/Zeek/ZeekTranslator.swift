#if canImport(Glibc)
import Glibc
#endif
import CFastPath
import MozDefEvent

/// Zeek logs → MozDef events, through the `zeek` mapping (one section per log type).
///
/// TSV: the header block (`#separator`, `#set_separator`, `#empty_field`, `#unset_field`,
/// `#path`, `#fields`, `#types`) is read whenever it appears, so concatenated logs and
/// rotated files work; a custom meta prefix (a first line `PREFIXseparator X`) is learnt.
/// Values: the unset marker → field absent; the empty marker → [] for sets and vectors,
/// "" otherwise; `\xNN` and `\\` unescaped (bytes that would not be UTF-8 stay as `\xNN`
/// text, as Zeek's JSON writer writes them); count/int/port/double/time/interval →
/// numbers; bool → true/false; set[...]/vector[...] → arrays.
/// JSON: one object per line, values as written; `_path` names the log type.
public struct ZeekTranslator: Translator {
    public let mapping: Mapping
    /// The log type when the input does not say (`--zeek-path`, or from the file name).
    public var defaultPath: String?
    var record: MappedRecord

    // The current TSV header.
    var separator: [UInt8] = [0x09]
    var setSeparator: [UInt8] = [UInt8(ascii: ",")]
    var emptyField: [UInt8] = Array("(empty)".utf8)
    var unsetField: [UInt8] = [UInt8(ascii: "-")]
    var metaPrefix: [UInt8] = [UInt8(ascii: "#")]
    var path: String?
    var columns: [Column] = []
    var haveTypes = false
    var viewPath: String?
    var view: View
    var tsColumn: Int?
    var cells: [Range<Int>] = []
    var scratch: [UInt8] = []

    enum Kind { case string, number, bool, time, list(Element) }
    enum Element { case string, number, bool }
    struct Column {
        var name: [UInt8]
        var kind: Kind
        var key = ResolvedKey(out: .none, keyPointer: nil, keyCount: 0, dropped: false, rule: nil)
        /// The name needs escaping: it is copied into each event instead of pointed to.
        var copyName = false
        var isTs = false
    }

    /// Column names (and derived names) for the current header, kept while events point to them.
    final class NameArena: @unchecked Sendable {
        var blocks: [UnsafeMutablePointer<UInt8>] = []
        func keep(_ b: [UInt8]) -> UnsafePointer<UInt8> {
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(b.count, 1))
            b.withUnsafeBufferPointer { if let s = $0.baseAddress { p.update(from: s, count: b.count) } }
            blocks.append(p)
            return UnsafePointer(p)
        }
        deinit { for b in blocks { b.deallocate() } }
    }
    var arena = NameArena()

    public init(mapping: Mapping, defaultPath: String? = nil) {
        self.mapping = mapping
        self.defaultPath = defaultPath
        record = MappedRecord(view: mapping.global)
        view = mapping.view(section: defaultPath)
        viewPath = defaultPath
    }

    /// The log type a file name implies: "conn.log", "conn.00:00:00-01:00:00.log.gz" → "conn".
    public static func path(fromFileName name: String) -> String? {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        guard let dot = base.firstIndex(of: "."), dot != base.startIndex else { return nil }
        let p = String(base[..<dot])
        return p.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? p : nil
    }

    /// Header and comment lines fill the state and produce no event: the caller sees
    /// `TranslationError.noEvent`.
    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        if let first = record.first, first == metaPrefix[0], record.count >= metaPrefix.count,
           record.prefix(metaPrefix.count).elementsEqual(metaPrefix) {
            try header(UnsafeBufferPointer(rebasing: record[metaPrefix.count...]))
            throw .noEvent
        }
        if columns.isEmpty, let p = Self.learnPrefix(record) {
            metaPrefix = p
            try header(UnsafeBufferPointer(rebasing: record[p.count...]))
            throw .noEvent
        }
        e.clear(timestamp: context.received)
        var r = self.record
        self.record = MappedRecord(view: view)
        defer { self.record = r }
        if record.first == UInt8(ascii: "{") {
            try json(record, context: context, record: &r, into: &e)
        } else {
            guard !columns.isEmpty else { throw TranslationError("Zeek TSV: a data line before any #fields header") }
            try tsv(record, context: context, record: &r, into: &e)
        }
    }

    /// "PREFIXseparator X": a custom meta prefix (Zeek's LogAscii::meta_prefix).
    static func learnPrefix(_ p: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let base = p.baseAddress, p.count > 10 else { return nil }
        let k = mds_find(base, min(p.count, 40), "separator ", 10)
        guard k > 0 else { return nil }
        let prefix = Array(p[0..<k])
        return prefix.contains(0x20) || prefix.contains(0x09) ? nil : prefix
    }

    mutating func header(_ h: UnsafeBufferPointer<UInt8>) throws(TranslationError) {
        func value(after word: String) -> UnsafeBufferPointer<UInt8>? {
            let w = Array(word.utf8)
            guard h.count >= w.count + separator.count, h.prefix(w.count).elementsEqual(w),
                  h[w.count..<(w.count + separator.count)].elementsEqual(separator) else { return nil }
            return UnsafeBufferPointer(rebasing: h[(w.count + separator.count)...])
        }
        if h.starts(with: "separator ".utf8) {
            let sep = Self.decodeEscapes(UnsafeBufferPointer(rebasing: h[10...]))
            guard !sep.isEmpty else { throw TranslationError("Zeek header: empty #separator") }
            separator = sep
            return
        }
        if let v = value(after: "set_separator") {
            let sep = Self.decodeEscapes(v)
            guard !sep.isEmpty else { throw TranslationError("Zeek header: empty #set_separator") }
            setSeparator = sep
            return
        }
        if let v = value(after: "empty_field") { emptyField = Self.decodeEscapes(v); return }
        if let v = value(after: "unset_field") { unsetField = Self.decodeEscapes(v); return }
        if let v = value(after: "path") {
            path = String(decoding: v, as: UTF8.self)
            selectView()
            return
        }
        if let v = value(after: "fields") {
            // Names become JSON keys: bytes that are not UTF-8 are repaired here, once.
            columns = split(v).map { r in
                let raw = UnsafeBufferPointer(rebasing: v[r])
                let name = UTF8Validation.isValid(raw) ? Array(raw) : Array(String(decoding: raw, as: UTF8.self).utf8)
                return Column(name: name, kind: .string)
            }
            haveTypes = false
            tsColumn = columns.firstIndex { $0.name.elementsEqual("ts".utf8) }
            plan()
            return
        }
        if let v = value(after: "types") {
            let types = split(v)
            guard types.count == columns.count else {
                throw TranslationError("Zeek header: #types has \(types.count) columns, #fields \(columns.count)")
            }
            for (i, t) in types.enumerated() { columns[i].kind = Self.kind(v[t]) }
            haveTypes = true
            plan()
            return
        }
        // #open, #close and comments carry nothing a record needs.
    }

    mutating func selectView() {
        let p = path ?? defaultPath
        if p != viewPath {
            view = mapping.view(section: p)
            viewPath = p
            plan()
        }
    }

    /// Resolves every column's key against the current view, once per header.
    mutating func plan() {
        let a = NameArena()
        for i in columns.indices {
            let name = columns[i].name
            let stable = a.keep(name)
            columns[i].copyName = name.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
            columns[i].isTs = name.elementsEqual("ts".utf8)
            columns[i].key = name.withUnsafeBufferPointer { view.resolve($0, stable: stable, intern: a.keep) }
        }
        arena = a
    }

    static func kind(_ t: Slice<UnsafeBufferPointer<UInt8>>) -> Kind {
        let s = String(decoding: t, as: UTF8.self)
        switch s {
        case "count", "int", "port", "double", "interval": return .number
        case "time": return .time
        case "bool": return .bool
        default:
            if let open = s.firstIndex(of: "["), s.hasSuffix("]"), s.hasPrefix("set") || s.hasPrefix("vector") || s.hasPrefix("table") {
                let inner = String(s[s.index(after: open)..<s.index(before: s.endIndex)])
                switch inner {
                case "count", "int", "port", "double", "interval", "time": return .list(.number)
                case "bool": return .list(.bool)
                default: return .list(.string)
                }
            }
            return .string
        }
    }

    func split(_ v: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        Self.split(v, separator, into: &out)
        return out
    }

    /// `\xNN` and `\\` decoded (for header values).
    static func decodeEscapes(_ v: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < v.count {
            if v[i] == UInt8(ascii: "\\"), i + 3 < v.count + 0, v[i + 1] == UInt8(ascii: "x"), let b = hexByte(v, i + 2) {
                out.append(b); i += 4
            } else {
                out.append(v[i]); i += 1
            }
        }
        return out
    }

    @inline(__always) static func hexByte(_ v: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt8? {
        guard i + 1 < v.count else { return nil }
        func d(_ c: UInt8) -> UInt8? {
            if c &- 48 < 10 { return c &- 48 }
            let l = c | 0x20
            return l &- 97 < 6 ? l &- 87 : nil
        }
        guard let a = d(v[i]), let b = d(v[i + 1]) else { return nil }
        return a << 4 | b
    }

    /// Appends the unescaped text of a TSV value; escapes whose bytes are not UTF-8 stay as written.
    static func appendUnescaped(_ v: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let start = out.count
        var i = 0
        var decoded = false
        while i < v.count {
            let c = v[i]
            if c == UInt8(ascii: "\\"), i + 1 < v.count {
                if v[i + 1] == UInt8(ascii: "\\") { out.append(c); i += 2; continue }
                if v[i + 1] == UInt8(ascii: "x"), let b = hexByte(v, i + 2) { out.append(b); i += 4; decoded = true; continue }
            }
            out.append(c)
            i += 1
        }
        guard decoded else { return }
        let ok = out.withUnsafeBufferPointer { UTF8Validation.isValid(UnsafeBufferPointer(rebasing: $0[start...])) }
        if ok { return }
        // Re-render: valid sequences as bytes, the others as \xNN text.
        let raw = Array(out[start...])
        out.removeSubrange(start...)
        var k = 0
        while k < raw.count {
            let n = utf8SequenceLength(raw, k)
            if n > 0 {
                out.append(contentsOf: raw[k..<(k + n)]); k += n
            } else {
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(raw[k] >> 4)], hex[Int(raw[k] & 15)]])
                k += 1
            }
        }
    }

    /// The length of the valid UTF-8 sequence at b[i], or 0.
    static func utf8SequenceLength(_ b: [UInt8], _ i: Int) -> Int {
        let n: Int
        switch b[i] {
        case 0..<0x80: return 1
        case 0xC2...0xDF: n = 2
        case 0xE0...0xEF: n = 3
        case 0xF0...0xF4: n = 4
        default: return 0
        }
        guard i + n <= b.count else { return 0 }
        return b.withUnsafeBufferPointer { UTF8Validation.isValid(UnsafeBufferPointer(rebasing: $0[i..<(i + n)])) } ? n : 0
    }

    mutating func tsv(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, record r: inout MappedRecord, into e: inout Event) throws(TranslationError) {
        r.reset(view: view)
        // Locals: the closure below then captures no copy of the translator.
        var cells = self.cells
        self.cells = []
        defer { self.cells = cells }
        cells.removeAll(keepingCapacity: true)
        let columns = self.columns, sep = separator, unset = unsetField, empty = emptyField, setSep = setSeparator
        var ts: Timestamp?
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            Self.split(p, sep, into: &cells)
            guard cells.count == columns.count else {
                throw TranslationError("Zeek TSV: \(cells.count) values for \(columns.count) #fields")
            }
            let u0 = unset.first ?? 0
            for k in 0..<columns.count {
                let c = cells[k]
                let v = UnsafeBufferPointer(rebasing: p[c])
                if v.count == unset.count, v.count > 0, v[0] == u0, unset.count == 1 || v.elementsEqual(unset) { continue }
                if columns[k].key.dropped { continue }
                let kind = columns[k].kind
                var key = columns[k].key
                let col = (copyName: columns[k].copyName, isTs: columns[k].isTs, kind: kind)
                if col.copyName {
                    // A name that needs escaping is written from the event's bytes.
                    let ks = bytes.count
                    bytes.append(contentsOf: columns[k].name)
                    key.keyPointer = nil
                    key.keyStart = UInt32(ks)
                }
                // "ts" is the event time, typed or not (a log without #types still has it).
                if col.isTs { ts = Self.epoch(v) }
                switch col.kind {
                case .number, .time:
                    if JSONScan.isPortableNumber(v) {
                        r.add(key, value: c, kind: .raw, bytes: &bytes)
                    } else {
                        r.add(key, value: Self.stringValue(v, c, &bytes), kind: .string, bytes: &bytes)
                    }
                case .bool:
                    if v.count == 1, v[0] == UInt8(ascii: "T") || v[0] == UInt8(ascii: "F") {
                        let lit: StaticString = v[0] == UInt8(ascii: "T") ? "true" : "false"
                        let b = bytes.count
                        bytes.append(contentsOf: UnsafeBufferPointer(start: lit.utf8Start, count: lit.utf8CodeUnitCount))
                        r.add(key, value: b..<bytes.count, kind: .raw, bytes: &bytes)
                    } else {
                        r.add(key, value: Self.stringValue(v, c, &bytes), kind: .string, bytes: &bytes)
                    }
                case .string:
                    let isEmpty = v.count == empty.count && v.elementsEqual(empty)
                    r.add(key, value: isEmpty ? c.lowerBound..<c.lowerBound : Self.stringValue(v, c, &bytes), kind: .string, bytes: &bytes)
                case .list(let el):
                    let isEmpty = v.count == empty.count && v.elementsEqual(empty)
                    let b = bytes.count
                    Self.list(v, element: el, empty: isEmpty, unset: unset, setSeparator: setSep, into: &bytes)
                    r.add(key, value: b..<bytes.count, kind: .raw, bytes: &bytes)
                }
            }
        }
        if let ts { e.timestamp = ts }
        finish(&r, &e)
    }

    /// Cuts a line at each separator.
    @inline(__always) static func split(_ p: UnsafeBufferPointer<UInt8>, _ sep: [UInt8], into cells: inout [Range<Int>]) {
        var s = 0, i = 0
        if sep.count == 1, let base = p.baseAddress {
            let c = Int32(sep[0])
            while i < p.count, let hit = memchr(base + i, c, p.count - i) {
                let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                cells.append(s..<k)
                i = k + 1
                s = i
            }
        } else {
            while i + sep.count <= p.count {
                if p[i] == sep[0], p[i..<(i + sep.count)].elementsEqual(sep) {
                    cells.append(s..<i); i += sep.count; s = i
                } else { i += 1 }
            }
        }
        cells.append(s..<p.count)
    }

    /// Where the key's bytes are in the event: appended (header names are not in the record).
    /// Only read when the mapping does not know the key.
    @inline(__always) func keyInBytes(_ key: UnsafeBufferPointer<UInt8>, _ bytes: inout [UInt8]) -> Int {
        if let base = key.baseAddress, view.id(base, key.count) != nil { return 0 }
        let k = bytes.count
        bytes.append(contentsOf: key)
        return k
    }

    /// A string value: the record's own bytes, or its unescaped copy.
    @inline(__always) static func stringValue(_ v: UnsafeBufferPointer<UInt8>, _ c: Range<Int>, _ bytes: inout [UInt8]) -> Range<Int> {
        guard let base = v.baseAddress, memchr(base, 0x5C, v.count) != nil else { return c }
        let b = bytes.count
        Self.appendUnescaped(v, to: &bytes)
        return b..<bytes.count
    }

    /// A set or vector as a JSON array.
    static func list(_ v: UnsafeBufferPointer<UInt8>, element: Element, empty: Bool, unset unsetField: [UInt8],
                     setSeparator sep: [UInt8], into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "["))
        defer { bytes.append(UInt8(ascii: "]")) }
        if empty || v.isEmpty { return }
        var s = 0, i = 0
        var first = true
        func item(_ r: Range<Int>) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            let x = UnsafeBufferPointer(rebasing: v[r])
            if x.elementsEqual(unsetField) { bytes.append(contentsOf: "null".utf8); return }
            switch element {
            case .number where JSONScan.isPortableNumber(x):
                bytes.append(contentsOf: x)
            case .bool where x.count == 1 && (x[0] == UInt8(ascii: "T") || x[0] == UInt8(ascii: "F")):
                bytes.append(contentsOf: (x[0] == UInt8(ascii: "T") ? "true" : "false").utf8)
            default:
                var text: [UInt8] = []
                Self.appendUnescaped(x, to: &text)
                var w = JSONWriter(capacity: text.count * 6 + 16)
                text.withUnsafeBufferPointer { w.string(bytes: $0) }
                bytes.append(contentsOf: w.bytes)
            }
        }
        while i + sep.count <= v.count {
            if v[i] == sep[0], sep.count == 1 || v[i..<(i + sep.count)].elementsEqual(sep) {
                item(s..<i); i += sep.count; s = i
            } else { i += 1 }
        }
        item(s..<v.count)
    }

    /// Zeek time: epoch seconds with a fraction ("1505701210.163043", "-1.5").
    static func epoch(_ v: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var i = 0
        var neg = false
        if i < v.count, v[i] == UInt8(ascii: "-") { neg = true; i += 1 }
        var secs: Int64 = 0
        var nd = 0
        while i < v.count, v[i] &- 48 < 10, nd < 15 { secs = secs * 10 + Int64(v[i] - 48); i += 1; nd += 1 }
        guard nd > 0 else { return nil }
        var nanos: Int64 = 0
        var digits: UInt8 = 0
        if i < v.count, v[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            while i < v.count, v[i] &- 48 < 10 {
                if digits < 9 { nanos += Int64(v[i] - 48) * scale; scale /= 10; digits += 1 }
                i += 1
            }
        }
        guard i == v.count else { return nil }
        if neg {
            secs = -secs
            if nanos > 0 { secs -= 1; nanos = 1_000_000_000 - nanos }
        }
        guard Timestamp.writableSeconds.contains(secs) else { return nil }
        // As MozDef (Python's isoformat) writes it: six digits, none for a whole second.
        return Timestamp(epochSeconds: secs, nanoseconds: Int32(nanos / 1000 * 1000), fractionDigits: nanos >= 1000 ? 6 : 0)
    }

    mutating func json(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, record r: inout MappedRecord, into e: inout Event) throws(TranslationError) {
        var ts: Timestamp?
        var logPath: Range<Int>?
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            // The log type first: it selects the mapping section.
            guard var it = JSONScan.ObjectIterator(p, at: 0) else { throw TranslationError("Zeek JSON: not an object") }
            var members: [JSONScan.Member] = []
            while let m = it.next() {
                members.append(m)
                if m.key.count == 5, p[m.key].elementsEqual("_path".utf8), m.first == UInt8(ascii: "\""), !m.valueEscaped {
                    logPath = (m.value.lowerBound + 1)..<(m.value.upperBound - 1)
                }
            }
            if it.failed { throw TranslationError("Zeek JSON: invalid JSON near byte \(it.i)") }
            guard JSONScan.skipSpace(p, it.end) == p.count else { throw TranslationError("Zeek JSON: text after the object at byte \(it.end)") }
            if let lp = logPath {
                let s = String(decoding: p[lp], as: UTF8.self)
                if s != viewPath { view = mapping.view(section: s); viewPath = s }
            } else if path == nil {
                selectView()
            }
            r.reset(view: view)
            for m in members {
                if m.key.count == 5, p[m.key].elementsEqual("_path".utf8) { continue }
                let isTs = m.key.count == 2 && p[m.key].elementsEqual("ts".utf8)
                var keyStart = m.key.lowerBound
                var keyBuf: [UInt8] = []
                if m.keyEscaped {
                    keyStart = bytes.count
                    JSONScan.unescape(p, m.key, into: &bytes)
                    keyBuf = Array(bytes[keyStart...])
                }
                var range = m.value
                var kind = MappedRecord.ValueKind.raw
                if m.first == UInt8(ascii: "\"") {
                    let body = (m.value.lowerBound + 1)..<(m.value.upperBound - 1)
                    range = body
                    kind = .string
                    if m.valueEscaped {
                        let b = bytes.count
                        JSONScan.unescape(p, body, into: &bytes)
                        range = b..<bytes.count
                    }
                    if isTs, let t = Timestamp.parseISO8601(UnsafeBufferPointer(rebasing: p[body])), t.hasZone { ts = t.timestamp }
                } else if isTs {
                    ts = Self.epoch(UnsafeBufferPointer(rebasing: p[m.value]))
                } else if m.first == UInt8(ascii: "{") || m.first == UInt8(ascii: "[") {
                    range = JSONScan.oneLine(p, m.value, into: &bytes)
                }
                if m.keyEscaped {
                    keyBuf.withUnsafeBufferPointer { key in
                        r.add(key: key, keyStart: keyStart, value: range, kind: kind, bytes: &bytes)
                    }
                } else {
                    r.add(key: UnsafeBufferPointer(rebasing: p[m.key]), keyStart: keyStart, value: range, kind: kind, bytes: &bytes)
                }
            }
        }
        if let logPath { e.sourceText = .slice(logPath) }
        if let ts { e.timestamp = ts }
        finish(&r, &e, sourceSet: logPath != nil)
    }

    mutating func finish(_ r: inout MappedRecord, _ e: inout Event, sourceSet: Bool = false) {
        e.categoryText = .literal("zeek")
        if !sourceSet {
            // The source is the log type.
            if let p = viewPath { e.setSource(p) } else { e.sourceText = .literal("zeek") }
        }
        r.complete(&e)
    }
}

extension TranslationError {
    /// Not an error: the record (a header, a comment) makes no event.
    public static let noEvent = TranslationError("")
    public var isNoEvent: Bool { reason.isEmpty }
}
