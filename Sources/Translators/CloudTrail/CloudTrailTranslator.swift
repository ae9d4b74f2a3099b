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
    /// What the copy of userIdentity, requestParameters and responseElements locates on
    /// the way, so none of them is walked twice.
    var identityCaptures = Self.captures([["username"], ["principalid"], ["sessioncontext", "sessionissuer", "username"]])
    var requestCaptures = Self.captures(CloudTrailRawValues.requestPathNames.map { [$0[0]] } + [["htmlpart"]])
    var responseCaptures = Self.captures([["consolelogin"]] + CloudTrailRawValues.responsePathNames.map { [$0[0]] })
    var rawRoom: [UInt8] = []

    /// The added details' keys, resolved once (nil: resolve per record).
    let usernameKey, eventverbKey, eventreadonlyKey, successKey: ResolvedKey?
    let usernameID, successID: Int32?

    public init(mapping: Mapping) {
        self.mapping = mapping
        record = MappedRecord(view: mapping.global)
        let keys = KeyCache(view: mapping.global, transform: .lowercase)
        self.keys = keys
        func key(_ s: StaticString) -> ResolvedKey? { keys.resolve(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        usernameKey = key("username")
        eventverbKey = key("eventverb")
        eventreadonlyKey = key("eventreadonly")
        successKey = key("success")
        usernameID = mapping.global.names.lookup("username")
        successID = mapping.global.names.lookup("success")
    }

    static func captures(_ paths: [[StaticString]]) -> [mds_json_capture] {
        paths.map { path in
            var c = mds_json_capture()
            withUnsafeMutableBytes(of: &c.seg) { seg in
                withUnsafeMutableBytes(of: &c.seglen) { len in
                    for (k, s) in path.prefix(4).enumerated() {
                        seg.storeBytes(of: Optional(s.utf8Start), toByteOffset: k * MemoryLayout<UnsafePointer<UInt8>?>.stride,
                                       as: UnsafePointer<UInt8>?.self)
                        len.storeBytes(of: s.utf8CodeUnitCount, toByteOffset: k * MemoryLayout<Int>.stride, as: Int.self)
                    }
                }
            }
            c.nseg = Int32(min(path.count, 4))
            return c
        }
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        var r = MappedRecord.take(&self.record, view: mapping.global)
        defer { self.record = r }
        var lower = self.lower, copyRoom = self.copyRoom, rawRoom = self.rawRoom
        var idCaps = self.identityCaptures, reqCaps = self.requestCaptures, respCaps = self.responseCaptures
        self.lower = []; self.copyRoom = []; self.rawRoom = []
        self.identityCaptures = []; self.requestCaptures = []; self.responseCaptures = []
        defer {
            self.lower = lower; self.copyRoom = copyRoom; self.rawRoom = rawRoom
            self.identityCaptures = idCaps; self.requestCaptures = reqCaps; self.responseCaptures = respCaps
        }
        let keys = Unmanaged.passUnretained(self.keys)  // self keeps it alive; no reference counting per call
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            var i = JSONScan.skipSpace(p, 0)
            guard i < p.count, p[i] == UInt8(ascii: "{") else { throw TranslationError("CloudTrail: not a JSON object") }
            func bad(_ at: Int) -> TranslationError { TranslationError("CloudTrail: invalid JSON near byte \(at)") }
            var errorCode = false, eventName: Range<Int>?
            var user: Range<Int>?, consoleLogin: Range<Int>?
            var digest = false, sawEventFields = false
            i = JSONScan.skipSpace(p, i + 1)
            var more = i < p.count && p[i] != UInt8(ascii: "}")
            if !more {
                guard i < p.count else { throw bad(i) }
                i += 1
            }
            // One pass over the members: keys checked, nested values validated and copied with
            // lowercased keys at once.
            let base = p.baseAddress!
            var m = mds_json_span()
            while more {
                let head = Int(mds_json_member_head(base, p.count, i, &m))
                guard head != MDS_MEMBER_ERROR else { throw bad(m.at) }
                let keyEscaped = m.key_escaped != 0
                let keyRange = m.key_start..<m.key_end
                // Keys are compared ignoring ASCII case (MozDef lowercases them all); the length
                // check first keeps this to a few bytes per member.
                let key = UnsafeBufferPointer(rebasing: p[keyRange])
                @inline(__always) func isKey(_ s: StaticString) -> Bool {
                    guard key.count == s.utf8CodeUnitCount else { return false }
                    let t = s.utf8Start
                    for j in 0..<key.count where key[j] | 0x20 != t[j] | 0x20 { return false }
                    return true
                }
                var special = Special.none
                switch key.count {
                case 10 where isKey("apiVersion"): special = .wrap
                case 12 where isKey("userIdentity"): special = .identity
                case 16 where isKey("responseElements"): special = .response
                case 17 where isKey("requestParameters"): special = .request
                case 19 where isKey("additionalEventData") || isKey("serviceEventDetails"): special = .wrap
                default: break
                }
                i = m.value_start
                let first = p[i]
                var value: Range<Int>
                var kind = MappedRecord.ValueKind.raw
                var rawString: Range<Int>?
                /// The value's JSON text, for raw_value wrapping: in the record or in the bytes.
                var token: (inBytes: Bool, range: Range<Int>)
                var mayRewrite = false
                switch head {
                case MDS_MEMBER_STRING:
                    kind = .string
                    value = m.value_start..<m.value_end
                    rawString = value
                    token = (false, (m.value_start - 1)..<(m.value_end + 1))
                    if m.value_escaped != 0 {
                        let b = bytes.count
                        JSONScan.unescape(p, value, into: &bytes)
                        value = b..<bytes.count
                    }
                    i = m.next
                case MDS_MEMBER_CONTAINER:
                    let b = bytes.count
                    let ve: Int?
                    switch special {
                    case .identity where first == UInt8(ascii: "{"):
                        ve = idCaps.withUnsafeMutableBufferPointer {
                            JSONScan.appendLowercasingKeys(p, from: i, scratch: &copyRoom, to: &bytes, captures: $0)
                        }
                        if ve != nil {
                            // userName, else sessionContext.sessionIssuer.userName, else principalId
                            user = bytes.withUnsafeBufferPointer { b in
                                Self.plainString(b, idCaps[0]) ?? Self.plainString(b, idCaps[2]) ?? Self.plainString(b, idCaps[1])
                            }
                        }
                    case .request where first == UInt8(ascii: "{"):
                        ve = reqCaps.withUnsafeMutableBufferPointer {
                            JSONScan.appendLowercasingKeys(p, from: i, scratch: &copyRoom, to: &bytes, captures: $0)
                        }
                        mayRewrite = reqCaps.contains { $0.start >= 0 }
                    case .response where first == UInt8(ascii: "{"):
                        ve = respCaps.withUnsafeMutableBufferPointer {
                            JSONScan.appendLowercasingKeys(p, from: i, scratch: &copyRoom, to: &bytes, captures: $0)
                        }
                        if ve != nil {
                            consoleLogin = bytes.withUnsafeBufferPointer { Self.plainString($0, respCaps[0]) }
                            mayRewrite = respCaps.dropFirst().contains { $0.start >= 0 }
                        }
                    default:
                        ve = JSONScan.appendLowercasingKeys(p, from: i, scratch: &copyRoom, to: &bytes)
                    }
                    guard let ve else { throw bad(i) }
                    value = b..<bytes.count
                    token = (true, value)
                    i = ve
                default:  // a literal or a number
                    value = m.value_start..<m.value_end
                    token = (false, value)
                    i = m.next
                }
                var next = i
                switch mds_json_member_tail(base, p.count, &next) {
                case 1: i = next
                case 0: i = next; more = false
                default: throw bad(next)
                }
                // MozDef's cloudtrail plugin rewrites (raw_value wrapping, htmlpart cut).
                if special == .wrap {
                    let b = bytes.count
                    let n = token.inBytes
                        ? bytes.withUnsafeBufferPointer { Self.rawValue(UnsafeBufferPointer(rebasing: $0[token.range]), room: &rawRoom) }
                        : Self.rawValue(UnsafeBufferPointer(rebasing: p[token.range]), room: &rawRoom)
                    bytes.append(contentsOf: rawRoom[..<n])
                    value = b..<bytes.count
                    kind = .raw
                } else if mayRewrite, let changed = bytes.withUnsafeBufferPointer({ b in
                    CloudTrailRawValues.rewrite(special == .request ? .request : .response, UnsafeBufferPointer(rebasing: b[value]))
                }) {
                    let b = bytes.count
                    bytes.append(contentsOf: changed)
                    value = b..<bytes.count
                    kind = .raw
                }
                switch key.count {
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
                case 15 where isKey("digestStartTime"):
                    digest = true
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
            // username: userName, else sessionContext.sessionIssuer.userName, else principalId.
            if !r.has(id: usernameID), let user { Self.add(&r, usernameKey, "username", user, .string, &bytes) }
            if let name = eventName {
                // The leading capitalised word: "DescribeInstances" → "Describe".
                var end = name.lowerBound + 1
                while end < name.upperBound, bytes[end] &- 65 >= 26 { end += 1 }
                let verb = name.lowerBound..<min(end, name.upperBound)
                Self.add(&r, eventverbKey, "eventverb", verb, .string, &bytes)
                let ro = Self.same(bytes, verb, "Describe") || Self.same(bytes, verb, "Get") || Self.same(bytes, verb, "List")
                Self.addRaw(&r, eventreadonlyKey, "eventreadonly", ro ? "true" : "false", &bytes)
            }
            var success = !errorCode
            if !errorCode, let name = eventName, Self.same(bytes, name, "ConsoleLogin"), let consoleLogin {
                success = Self.same(bytes, consoleLogin, "Success")
            }
            if !r.has(id: successID) { Self.addRaw(&r, successKey, "success", success ? "true" : "false", &bytes) }
        }
        e.categoryText = .literal("cloudtrail")
        e.sourceText = .literal("cloudtrail")
        r.complete(&e)
    }

    /// Members whose values the translator treats apart.
    enum Special { case none, identity, request, response, wrap }

    /// `{"raw_value":"<json.dumps text>"}` for the JSON text `v`, written to the start of
    /// `room`; returns its length.
    static func rawValue(_ v: UnsafeBufferPointer<UInt8>, room: inout [UInt8]) -> Int {
        let need = 14 * v.count + 32
        if room.count < need { room = [UInt8](repeating: 0, count: max(need, 2 * room.count)) }
        return room.withUnsafeMutableBufferPointer { mds_raw_value($0.baseAddress!, v.baseAddress!, v.count) }
    }

    /// The body of a captured string value without escapes, or nil.
    static func plainString(_ b: UnsafeBufferPointer<UInt8>, _ c: mds_json_capture) -> Range<Int>? {
        guard c.start >= 0, c.end - c.start >= 2, b[c.start] == UInt8(ascii: "\""),
              memchr(b.baseAddress! + c.start, 0x5C, c.end - c.start) == nil else { return nil }
        return (c.start + 1)..<(c.end - 1)
    }

    /// bytes[r] is exactly s.
    @inline(__always) static func same(_ b: [UInt8], _ r: Range<Int>, _ s: StaticString) -> Bool {
        r.count == s.utf8CodeUnitCount && b.withUnsafeBufferPointer { memcmp($0.baseAddress! + r.lowerBound, s.utf8Start, r.count) == 0 }
    }

    static func add(_ r: inout MappedRecord, _ key: ResolvedKey?, _ name: StaticString, _ v: Range<Int>,
                    _ kind: MappedRecord.ValueKind, _ bytes: inout [UInt8]) {
        if let key { r.add(key, value: v, kind: kind, bytes: &bytes) } else { r.add(name: name, value: v, kind: kind, bytes: &bytes) }
    }

    static func addRaw(_ r: inout MappedRecord, _ key: ResolvedKey?, _ name: StaticString, _ text: StaticString, _ bytes: inout [UInt8]) {
        let b = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        add(&r, key, name, b..<bytes.count, .raw, &bytes)
    }
}

// The segments point at static strings (immortal, read-only); the rest are plain numbers.
extension mds_json_capture: @retroactive @unchecked Sendable {}

extension TranslationError {
    /// Not an error: the record is skipped, with a note for the operator.
    public static func skipped(_ note: String) -> TranslationError {
        var e = TranslationError("")
        e.note = note
        return e
    }
}
