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
        var details = JSONObject()
        details.members.reserveCapacity(16)
        if let f = Facility.name(pri >> 3) { details.append("facility", .string(f)) }
        var processname = m.appname
        var subsystem: String?
        if let app = m.appname {
            // "sshd(pam_unix)": the program is sshd; the parenthesised module is kept apart.
            if app.utf8.last == UInt8(ascii: ")"), let open = app.utf8.firstIndex(of: UInt8(ascii: "(")),
               open != app.utf8.startIndex {
                let name = String(app[..<open])
                processname = name
                details.append("program", .string(name))
                let sub = String(app[app.index(after: open)..<app.index(before: app.endIndex)])
                details.append("subsystem", .string(sub))
                subsystem = sub
            } else {
                details.append("program", .string(app))
            }
        }
        if let msgid = m.msgid { details.append("msgid", .string(msgid)) }
        if let sd = m.structuredData, !sd.isEmpty {
            var o = JSONObject()
            o.members.reserveCapacity(sd.count)
            for e in sd {
                var params = JSONObject()
                params.members.reserveCapacity(e.params.count)
                // A repeated PARAM-NAME keeps its last value (JSON objects have unique keys).
                for p in e.params { params[p.name] = .string(p.value) }
                o.append(e.id, .object(params))
            }
            details.append("structureddata", .object(o))
        }
        let summary = m.message ?? ""
        var category = "syslog"
        if let prog = processname, !summary.isEmpty {
            // Auth keys are disjoint from the syslog ones, so they are appended unchecked.
            let auth = subsystem == "pam_unix"
                ? AuthRecognizer.pamUnixBody(service: prog, message: summary, details: &details)
                : AuthRecognizer.recognize(program: prog, message: summary, details: &details)
            if let auth { category = auth }
        }
        return Event(timestamp: m.timestamp ?? context.received, receivedTimestamp: context.received,
                     category: category, hostname: m.hostname, processid: m.procid, processname: processname,
                     severity: Severity(rawValue: UInt8(pri & 7)), source: context.source, summary: summary,
                     tags: [], details: details)
    }
}
