#if canImport(Glibc)
import Glibc
#endif
import MozDefEvent

/// Syslog (RFC 5424 and RFC 3164) → MozDef event.
///
/// Layout: PRI → `severity` and `details.facility`; HOSTNAME → `hostname`;
/// APP-NAME/TAG → `processname` and `details.program`; PROCID → `processid`;
/// MSG → `summary`; MSGID → `details.msgid`; structured data →
/// `details.structureddata.<SD-ID>.<PARAM-NAME>` (names kept as written).
public struct SyslogTranslator: Translator {
    public var parser: SyslogParser

    public init(parser: SyslogParser) { self.parser = parser }

    public func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext) throws(TranslationError) -> Event {
        let m: SyslogMessage
        do {
            m = try parser.parse(record)
        } catch {
            throw TranslationError("not syslog: \(error)")
        }
        return event(from: m, context: context)
    }

    /// RFC 3164 §4.3.3: a relay that receives no PRI assumes 13 (user.notice).
    static let defaultPriority = 13

    public func event(from m: SyslogMessage, context: RecordContext) -> Event {
        let pri = m.priority ?? Self.defaultPriority
        var e = Event(bytes: m.bytes, timestamp: m.timestamp ?? context.received, receivedTimestamp: context.received,
                      category: .literal("syslog"), summary: m.messageRange.map(Text.slice) ?? .literal(""))
        e.severity = Severity(rawValue: UInt8(pri & 7))
        e.hostnameText = m.hostnameRange.map(Text.slice)
        e.processidText = m.procidRange.map(Text.slice)
        e.sourceText = .string(context.source)
        var details: [Detail] = []
        details.reserveCapacity(16)
        if pri >> 3 < Facility.names.count { details.append(Detail("facility", .text(.literal(Facility.names[pri >> 3])))) }
        var program = m.appnameRange
        var pamSubsystem = false
        if let app = m.appnameRange {
            // "sshd(pam_unix)": the program is sshd; the parenthesised module is kept apart.
            var open = app.lowerBound
            if m.bytes[app.upperBound - 1] == UInt8(ascii: ")") {
                while open < app.upperBound, m.bytes[open] != UInt8(ascii: "(") { open += 1 }
            }
            if open > app.lowerBound, open < app.upperBound - 1 {
                let name = app.lowerBound..<open
                let sub = (open + 1)..<(app.upperBound - 1)
                program = name
                details.append(Detail("program", .text(.slice(name))))
                details.append(Detail("subsystem", .text(.slice(sub))))
                pamSubsystem = m.bytes[sub].elementsEqual("pam_unix".utf8)
            } else {
                details.append(Detail("program", .text(.slice(app))))
            }
        }
        e.processnameText = program.map(Text.slice)
        if let msgid = m.msgidRange { details.append(Detail("msgid", .text(.slice(msgid)))) }
        if let sd = m.sd, !sd.isEmpty {
            var elements: [Detail] = []
            elements.reserveCapacity(sd.count)
            m.bytes.withUnsafeBufferPointer { b in
                for el in sd {
                    var params: [Detail] = []
                    params.reserveCapacity(el.params.count)
                    for p in el.params {
                        // A repeated PARAM-NAME keeps its last value (JSON objects have unique keys).
                        if let k = el.params.firstIndex(where: { same(b, $0.name, p.name) }),
                           el.params[k].name != p.name, let j = params.firstIndex(where: { sameKey(b, $0.key, p.name) }) {
                            params[j].value = .text(.slice(p.value))
                        } else {
                            params.append(Detail(key: .slice(p.name), value: .text(.slice(p.value))))
                        }
                    }
                    elements.append(Detail(key: .slice(el.id), value: .object(params)))
                }
            }
            details.append(Detail("structureddata", .object(elements)))
        }
        if let prog = program, let msg = m.messageRange {
            // Auth keys are disjoint from the syslog ones, so they are appended unchecked.
            let category = m.bytes.withUnsafeBufferPointer { b in
                AuthRecognizer.recognize(bytes: b, program: prog, message: msg, pamService: pamSubsystem, details: &details)
            }
            if let category { e.categoryText = .literal(category) }
        }
        e.detailMembers = details
        return e
    }
}

private func same(_ b: UnsafeBufferPointer<UInt8>, _ x: Range<Int>, _ y: Range<Int>) -> Bool {
    x.count == y.count && memcmp(b.baseAddress! + x.lowerBound, b.baseAddress! + y.lowerBound, x.count) == 0
}

private func sameKey(_ b: UnsafeBufferPointer<UInt8>, _ t: Text, _ r: Range<Int>) -> Bool {
    if case .slice(let s, let n) = t { return same(b, Int(s)..<Int(s + n), r) }
    return false
}
