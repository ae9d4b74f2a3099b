#if canImport(Glibc)
import Glibc
#endif
import CFastPath
import MozDefEvent

/// One AWS CloudTrail record → MozDef event, shaped as MozDef's CloudTrail worker does
/// (mozilla/MozDef mq/esworker_cloudtrail.py with its lower_keys plugin), through the
/// `cloudtrail` mapping.
///
/// Every key is lowercased, nested ones too; `eventTime` → the event time; the mapping
/// gives category, source, hostname (eventSource) and the summary. Added details:
/// `username` (userIdentity.userName, else its sessionContext.sessionIssuer.userName,
/// else principalId), `success` (false with an errorCode; ConsoleLogin's from
/// responseElements.ConsoleLogin), `eventverb` (the leading capitalised word of
/// eventName) and `eventreadonly` (that verb is Describe, Get or List).
/// CloudTrail digest files are not events: they are skipped with a note.
public struct CloudTrailTranslator: Translator {
    public let mapping: Mapping
    var record: MappedRecord
    var lower: [UInt8] = []
    var copyRoom: [UInt8] = []
    /// Member names resolved once, lowercased (they repeat record after record).
    let keys: KeyCache

    public init(mapping: Mapping) {
        self.mapping = mapping
        record = MappedRecord(view: mapping.global)
        keys = KeyCache(view: mapping.global, transform: .lowercase)
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        var r = MappedRecord.take(&self.record, view: mapping.global)
        defer { self.record = r }
        var lower = self.lower
        self.lower = []
        var copyRoom = self.copyRoom
        self.copyRoom = []
        defer {
            self.lower = lower
            self.copyRoom = copyRoom
        }
        let keys = Unmanaged.passUnretained(self.keys)  // self keeps it alive; no reference counting per call
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            var i = JSONScan.skipSpace(p, 0)
            guard i < p.count, p[i] == UInt8(ascii: "{") else { throw TranslationError("CloudTrail: not a JSON object") }
            func bad(_ at: Int) -> TranslationError { TranslationError("CloudTrail: invalid JSON near byte \(at)") }
            var userIdentity: Range<Int>?, errorCode = false, eventName: Range<Int>?, response: Range<Int>?
            var digest = false, sawEventFields = false
            i = JSONScan.skipSpace(p, i + 1)
            var more = i < p.count && p[i] != UInt8(ascii: "}")
            if !more {
                guard i < p.count else { throw bad(i) }
                i += 1
            }
            // One pass over the members: keys checked, nested values validated and copied with
            // lowercased keys at once.
            while more {
                guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw bad(i) }
                var keyEscaped = false
                guard let ke = JSONScan.stringEnd(p, i, escaped: &keyEscaped) else { throw bad(i) }
                let keyRange = (i + 1)..<ke
                i = JSONScan.skipSpace(p, ke + 1)
                guard i < p.count, p[i] == UInt8(ascii: ":") else { throw bad(i) }
                i = JSONScan.skipSpace(p, i + 1)
                guard i < p.count else { throw bad(i) }
                let first = p[i]
                var value: Range<Int>
                var kind = MappedRecord.ValueKind.raw
                var rawString: Range<Int>?
                switch first {
                case UInt8(ascii: "\""):
                    var esc = false
                    guard let se = JSONScan.stringEnd(p, i, escaped: &esc) else { throw bad(i) }
                    kind = .string
                    value = (i + 1)..<se
                    rawString = value
                    if esc {
                        let b = bytes.count
                        JSONScan.unescape(p, value, into: &bytes)
                        value = b..<bytes.count
                    }
                    i = se + 1
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let b = bytes.count
                    guard let ve = JSONScan.appendLowercasingKeys(p, from: i, scratch: &copyRoom, to: &bytes) else { throw bad(i) }
                    value = b..<bytes.count
                    i = ve
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    let lit: StaticString = first == UInt8(ascii: "t") ? "true" : first == UInt8(ascii: "f") ? "false" : "null"
                    let n = lit.utf8CodeUnitCount
                    guard i + n <= p.count, memcmp(p.baseAddress! + i, lit.utf8Start, n) == 0 else { throw bad(i) }
                    value = i..<(i + n)
                    i += n
                default:
                    let n = JSONScan.numberLength(p, i)
                    guard n > 0 else { throw bad(i) }
                    value = i..<(i + n)
                    i += n
                }
                i = JSONScan.skipSpace(p, i)
                guard i < p.count else { throw bad(i) }
                if p[i] == UInt8(ascii: ",") {
                    i = JSONScan.skipSpace(p, i + 1)
                } else if p[i] == UInt8(ascii: "}") {
                    i += 1
                    more = false
                } else {
                    throw bad(i)
                }
                // Keys are compared ignoring ASCII case (MozDef lowercases them all); the length
                // check first keeps this to a few bytes per member.
                let key = UnsafeBufferPointer(rebasing: p[keyRange])
                @inline(__always) func isKey(_ s: StaticString) -> Bool {
                    guard key.count == s.utf8CodeUnitCount else { return false }
                    let t = s.utf8Start
                    for j in 0..<key.count where key[j] | 0x20 != t[j] | 0x20 { return false }
                    return true
                }
                let kc = key.count
                if kc == 10 || kc == 16 || kc == 17 || kc == 19 {
                    let rk: CloudTrailRawValues.Kind? = isKey("requestParameters") ? .request : isKey("responseElements") ? .response
                        : isKey("additionalEventData") || isKey("apiVersion") || isKey("serviceEventDetails") ? .top : nil
                    if let rk, let changed = bytes.withUnsafeBufferPointer({ b in Self.rawValues(b, kind: rk, value: value, string: kind == .string) }) {
                        let b = bytes.count
                        bytes.append(contentsOf: changed)
                        value = b..<bytes.count
                        kind = .raw
                    }
                }
                switch kc {
                case 9 where isKey("eventTime"):
                    sawEventFields = true
                    if let rs = rawString, let t = Timestamp.parseISO8601(UnsafeBufferPointer(rebasing: p[rs])), t.hasZone {
                        e.timestamp = t.timestamp
                        continue  // MozDef takes it as the event time, not a detail
                    }
                case 9 where isKey("eventName"):
                    sawEventFields = true
                    if kind == .string { eventName = value }
                case 9 where isKey("errorCode"):
                    if first != UInt8(ascii: "n") { errorCode = true }
                case 11 where isKey("eventSource"):
                    sawEventFields = true
                case 12 where isKey("userIdentity"):
                    if first == UInt8(ascii: "{") { userIdentity = value }
                case 15 where isKey("digestStartTime"):
                    digest = true
                case 16 where isKey("responseElements"):
                    if first == UInt8(ascii: "{") { response = value }
                default: break
                }
                if !keyEscaped, let k = keys._withUnsafeGuaranteedRef({ $0.resolve(key) }) {
                    r.add(k, value: value, kind: kind, bytes: &bytes)
                } else {
                    // An escaped or unusual key: lowercased here and written from the event's bytes.
                    lower.removeAll(keepingCapacity: true)
                    if keyEscaped { JSONScan.unescape(p, keyRange, into: &lower) } else { lower.append(contentsOf: key) }
                    for k in lower.indices where lower[k] &- 65 < 26 { lower[k] |= 0x20 }
                    let ks = bytes.count
                    bytes.append(contentsOf: lower)
                    lower.withUnsafeBufferPointer { k in
                        r.add(key: k, keyStart: ks, value: value, kind: kind, bytes: &bytes)
                    }
                }
            }
            guard JSONScan.skipSpace(p, i) == p.count else { throw TranslationError("CloudTrail: text after the record at byte \(i)") }
            if digest && !sawEventFields {
                throw TranslationError.skipped("CloudTrail digest file: not events, skipped")
            }
            // Read what the added details need before appending to the bytes.
            let (user, consoleLogin): (Range<Int>?, Range<Int>?) = bytes.withUnsafeBufferPointer { b in
                let u = userIdentity.flatMap { ui in Self.userName(b, in: ui) }
                return (u, response.flatMap { Self.string(b, in: $0, path: ["consolelogin"]) })
            }
            // username: userName, else sessionContext.sessionIssuer.userName, else principalId.
            if !r.has("username"), let user { Self.addString(&r, "username", user, &bytes) }
            if let name = eventName {
                // The leading capitalised word: "DescribeInstances" → "Describe".
                var end = name.lowerBound + 1
                while end < name.upperBound, bytes[end] &- 65 >= 26 { end += 1 }
                let verb = name.lowerBound..<min(end, name.upperBound)
                Self.addString(&r, "eventverb", verb, &bytes)
                let v = bytes[verb]
                let ro = v.elementsEqual("Describe".utf8) || v.elementsEqual("Get".utf8) || v.elementsEqual("List".utf8)
                Self.addRaw(&r, "eventreadonly", ro ? "true" : "false", &bytes)
            }
            var success = !errorCode
            if !errorCode, let name = eventName, bytes[name].elementsEqual("ConsoleLogin".utf8), let consoleLogin {
                success = bytes[consoleLogin].elementsEqual("Success".utf8)
            }
            if !r.has("success") { Self.addRaw(&r, "success", success ? "true" : "false", &bytes) }
        }
        e.categoryText = .literal("cloudtrail")
        e.sourceText = .literal("cloudtrail")
        r.complete(&e)
    }

    /// MozDef's cloudtrail plugin rewrites (raw_value wrapping, htmlpart cut), for the keys it names.
    static func rawValues(_ b: UnsafeBufferPointer<UInt8>, kind: CloudTrailRawValues.Kind, value: Range<Int>, string: Bool) -> [UInt8]? {
        if string {  // the value is the unescaped text: make it JSON again
            var w = JSONWriter(capacity: value.count * 6 + 8)
            w.string(bytes: UnsafeBufferPointer(rebasing: b[value]))
            return w.bytes.withUnsafeBufferPointer { CloudTrailRawValues.apply(kind, $0) }
        }
        return CloudTrailRawValues.apply(kind, UnsafeBufferPointer(rebasing: b[value]))
    }

    @inline(__always) static func same(_ b: [UInt8], _ at: Int, _ s: StaticString) -> Bool {
        b.count - at >= s.utf8CodeUnitCount && b.withUnsafeBufferPointer { memcmp($0.baseAddress! + at, s.utf8Start, s.utf8CodeUnitCount) == 0 }
    }

    static func addString(_ r: inout MappedRecord, _ name: StaticString, _ v: Range<Int>, _ bytes: inout [UInt8]) {
        r.add(name: name, value: v, kind: .string, bytes: &bytes)
    }

    static func addRaw(_ r: inout MappedRecord, _ name: StaticString, _ text: StaticString, _ bytes: inout [UInt8]) {
        let b = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        r.add(name: name, value: b..<bytes.count, kind: .raw, bytes: &bytes)
    }

    /// userName, else sessionContext.sessionIssuer.userName, else principalId, from one walk
    /// over userIdentity's own members (nested objects are entered only when needed).
    static func userName(_ b: UnsafeBufferPointer<UInt8>, in ui: Range<Int>) -> Range<Int>? {
        guard let base = b.baseAddress else { return nil }
        var principal: Range<Int>?, session: Range<Int>?
        var i = ui.lowerBound + 1
        while i < ui.upperBound, b[i] != UInt8(ascii: "}") {
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            let ke = mds_json_skip(base, ui.upperBound, i)
            let ve = mds_json_skip(base, ui.upperBound, ke + 1)
            let kn = ke - i - 2
            @inline(__always) func isKey(_ s: StaticString) -> Bool {
                kn == s.utf8CodeUnitCount && memcmp(base + i + 1, s.utf8Start, kn) == 0
            }
            let v = (ke + 1)..<ve
            let isPlainString = b[v.lowerBound] == UInt8(ascii: "\"") && !b[v].contains(UInt8(ascii: "\\"))
            if isKey("username"), isPlainString { return (v.lowerBound + 1)..<(v.upperBound - 1) }
            if isKey("principalid"), isPlainString { principal = (v.lowerBound + 1)..<(v.upperBound - 1) }
            if isKey("sessioncontext"), b[v.lowerBound] == UInt8(ascii: "{") { session = v }
            i = ve
        }
        if let session, let name = string(b, in: session, path: ["sessionissuer", "username"]) { return name }
        return principal
    }

    /// The body of the string at `path` inside the (lowercased, compact, valid) object `obj`.
    static func string(_ b: UnsafeBufferPointer<UInt8>, in obj: Range<Int>, path: [StaticString]) -> Range<Int>? {
        guard let base = b.baseAddress else { return nil }
        var o = obj
        for (depth, k) in path.enumerated() {
            var i = o.lowerBound + 1
            var found: Range<Int>?
            while i < o.upperBound, b[i] != UInt8(ascii: "}") {
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                let ke = mds_json_skip(base, o.upperBound, i)
                let ve = mds_json_skip(base, o.upperBound, ke + 1)
                if ke - i - 2 == k.utf8CodeUnitCount, memcmp(base + i + 1, k.utf8Start, k.utf8CodeUnitCount) == 0 {
                    found = (ke + 1)..<ve
                    break
                }
                i = ve
            }
            guard let v = found, v.count >= 2 else { return nil }
            if depth == path.count - 1 {
                guard b[v.lowerBound] == UInt8(ascii: "\""), !b[v].contains(UInt8(ascii: "\\")) else { return nil }
                return (v.lowerBound + 1)..<(v.upperBound - 1)
            }
            guard b[v.lowerBound] == UInt8(ascii: "{") else { return nil }
            o = v
        }
        return nil
    }
}

extension TranslationError {
    /// Not an error: the record is skipped, with a note for the operator.
    public static func skipped(_ note: String) -> TranslationError {
        var e = TranslationError("")
        e.note = note
        return e
    }
}
