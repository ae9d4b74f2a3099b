import MozDefEvent

/// Syslog (RFC 5424 and RFC 3164) → MozDef event.
///
/// Layout: PRI → `severity` and `details.facility`; HOSTNAME → `hostname`;
/// APP-NAME/TAG → `processname` and `details.program`; PROCID → `processid`;
/// MSG → `summary`; MSGID → `details.msgid`; structured data →
/// `details.structureddata.<SD-ID>.<PARAM-NAME>` (names kept as written).
public struct SyslogTranslator: Translator {
    public var parser: SyslogParser
    /// Rules applied after the hand-written translation; nil when the mapping has none.
    public let mapping: Mapping?

    public init(parser: SyslogParser, mapping: Mapping? = nil) {
        self.parser = parser
        self.mapping = mapping.flatMap { $0.file.rules.isEmpty ? nil : $0 }
    }

    public func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        let m: SyslogMessage
        do {
            m = try parser.parse(record, into: &e.bytes)
        } catch {
            throw TranslationError("not syslog: \(error)")
        }
        fill(&e, from: m, context: context)
        if let mapping { Self.apply(mapping, to: &e) }
    }

    /// An edited syslog mapping, applied to the top-level details the fast path wrote
    /// (nested ones, such as structureddata, are kept as they are).
    static func apply(_ mapping: Mapping, to e: inout Event) {
        var r = MappedRecord(view: mapping.global)
        let fields = e.detailFields
        var nested: [DetailField] = []
        var depth = 0
        for f in fields {
            switch f.kind {
            case .objectStart:
                depth += 1
                nested.append(f)
                continue
            case .objectEnd:
                depth -= 1
                nested.append(f)
                continue
            default:
                if depth > 0 { nested.append(f); continue }
            }
            let value: Range<Int>
            var kind = MappedRecord.ValueKind.string
            switch f.kind {
            case .slice: value = Int(f.a)..<Int(f.a + f.b)
            case .literal:
                let b = e.bytes.count
                e.bytes.append(contentsOf: UnsafeBufferPointer(start: f.valuePointer, count: Int(f.b)))
                value = b..<e.bytes.count
            case .int, .bool:
                let text = f.kind == .int ? String(f.number) : (f.number != 0 ? "true" : "false")
                let b = e.bytes.count
                e.bytes.append(contentsOf: text.utf8)
                value = b..<e.bytes.count
                kind = .raw
            default: continue
            }
            if let kp = f.keyPointer {
                r.add(key: UnsafeBufferPointer(start: kp, count: Int(f.keyB)), keyStart: 0, staticKey: kp,
                      value: value, kind: kind, lowercaseUnknown: false, bytes: &e.bytes)
            } else {
                let k = Array(e.bytes[Int(f.keyA)..<Int(f.keyA + f.keyB)])
                k.withUnsafeBufferPointer { kb in
                    r.add(key: kb, keyStart: Int(f.keyA), value: value, kind: kind, bytes: &e.bytes)
                }
            }
        }
        let tags = e.tags
        r.complete(&e)
        e.detailFields.append(contentsOf: nested)
        e.tags = tags + r.view.tags.filter { !tags.contains($0) }
    }

    /// RFC 3164 §4.3.3: a relay that receives no PRI assumes 13 (user.notice).
    static let defaultPriority = 13

    /// Fills `e`, whose `bytes` the message's ranges refer to.
    func fill(_ e: inout Event, from m: SyslogMessage, context: RecordContext) {
        let pri = m.priority ?? Self.defaultPriority
        // Every field is assigned below, so only what fill() never sets is cleared here.
        e.timestamp = m.timestamp ?? context.received
        e.receivedTimestamp = nil
        e.passthrough = false
        if !e.tags.isEmpty { e.tags = [] }
        if !e.extraDetails.isEmpty { e.extraDetails = JSONObject() }
        e.categoryText = .literal("syslog")
        e.summaryText = m.messageRange.map(Text.slice) ?? .literal("")
        e.severity = Severity(rawValue: UInt8(pri & 7))
        e.hostnameText = m.hostnameRange.map(Text.slice)
        e.processidText = m.procidRange.map(Text.slice)
        // The source is the same for a whole input: keep the stored String if it is.
        if case .string(let old)? = e.sourceText, old == context.source {} else { e.sourceText = .string(context.source) }
        var details: [DetailField] = []
        swap(&details, &e.detailFields)  // reuse the event's storage
        details.removeAll(keepingCapacity: true)
        details.reserveCapacity(16)
        if pri >> 3 < Facility.names.count { details.append(.literal("facility", Facility.names[pri >> 3])) }
        var program = m.appnameRange
        var pamSubsystem = false
        if let app = m.appnameRange {
            // "sshd(pam_unix)": the program is sshd; the parenthesised module is kept apart.
            var open = app.lowerBound
            if e.bytes[app.upperBound - 1] == UInt8(ascii: ")") {
                while open < app.upperBound, e.bytes[open] != UInt8(ascii: "(") { open += 1 }
            }
            if open > app.lowerBound, open < app.upperBound - 1 {
                let name = app.lowerBound..<open
                let sub = (open + 1)..<(app.upperBound - 1)
                program = name
                details.append(.slice("program", name))
                details.append(.slice("subsystem", sub))
                pamSubsystem = e.bytes[sub].elementsEqual("pam_unix".utf8)
            } else {
                details.append(.slice("program", app))
            }
        }
        e.processnameText = program.map(Text.slice)
        if let msgid = m.msgidRange { details.append(.slice("msgid", msgid)) }
        var extra: [(String, Range<Int>)] = []
        // The closure must not capture `e`: a captured var is copied out again on return.
        let category: StaticString? = e.bytes.withUnsafeBufferPointer { b in
            if let sd = m.sd, !sd.isEmpty {
                details.append(.objectStart("structureddata"))
                var first = 0
                for (k, item) in sd.enumerated() {
                    if item.isElement {
                        if k > 0 { details.append(.objectEnd) }
                        details.append(.objectStart(key: item.a))
                        first = details.count
                        continue
                    }
                    let f = DetailField.slice(key: item.a, item.b)
                    // A repeated PARAM-NAME keeps its last value (JSON objects have unique keys).
                    if let j = details[first...].firstIndex(where: { $0.sameKey(as: f, in: b) }) {
                        details[j] = f
                    } else {
                        details.append(f)
                    }
                }
                details.append(.objectEnd)
                details.append(.objectEnd)
            }
            guard let prog = program, let msg = m.messageRange else { return nil }
            // Auth keys are disjoint from the syslog ones, so they are appended unchecked.
            return AuthRecognizer.recognize(bytes: b, program: prog, message: msg, pamService: pamSubsystem,
                                            details: &details, extra: &extra)
        }
        if let category { e.categoryText = .literal(category) }
        for (k, r) in extra { e.extraDetails.append(k, .string(e.string(.slice(r)))) }
        e.detailFields = details
    }
}

