import MozDefEvent

/// A syslog record after parsing, before it becomes a MozDef event.
///
/// Fields are byte ranges of `bytes`: the record itself followed by any text the
/// parser derived (unescaped SD-PARAM values). `bytes` is valid UTF-8 (records that
/// were not are repaired field by field with U+FFFD). The String properties are
/// views for tests and slow paths.
public struct SyslogMessage: Sendable, Equatable {
    public enum Format: Sendable, Equatable { case rfc5424, rfc3164 }

    /// Structured data, flat: an element's SD-ID item (`a`), then its parameters
    /// (`a` = PARAM-NAME, `b` = PARAM-VALUE), then the next element.
    public struct SDItem: Sendable, Equatable {
        public var isElement: Bool
        public var a: Range<Int>
        public var b: Range<Int>
    }

    public var format: Format
    public var bytes: [UInt8] = []
    /// PRIVAL; nil when the line had none (RFC 3164 relays then assume 13, user.notice).
    public var priority: Int?
    public var version: Int?
    public var timestamp: Timestamp?
    /// False when the source wrote a wall-clock time without a zone (the default zone was applied).
    public var timestampHasZone: Bool = false
    public var hostnameRange: Range<Int>?
    public var appnameRange: Range<Int>?
    public var procidRange: Range<Int>?
    public var msgidRange: Range<Int>?
    public var sd: [SDItem]?
    /// MSG without a leading BOM; nil when absent or empty.
    public var messageRange: Range<Int>?

    public var facility: Int? { priority.map { $0 >> 3 } }
    public var severity: Int? { priority.map { $0 & 7 } }

    public init(format: Format) { self.format = format }

    public func string(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }

    public var hostname: String? { hostnameRange.map(string) }
    public var appname: String? { appnameRange.map(string) }
    public var procid: String? { procidRange.map(string) }
    public var msgid: String? { msgidRange.map(string) }
    public var message: String? { messageRange.map(string) }

    public struct SDParam: Sendable, Equatable {
        public var name: String
        public var value: String
    }
    public struct SDElement: Sendable, Equatable {
        public var id: String
        public var params: [SDParam]
    }
    public var structuredData: [SDElement]? {
        sd.map { items in
            var out: [SDElement] = []
            for item in items {
                if item.isElement {
                    out.append(SDElement(id: string(item.a), params: []))
                } else {
                    out[out.count - 1].params.append(SDParam(name: string(item.a), value: string(item.b)))
                }
            }
            return out
        }
    }
}

/// Why a line is not valid syslog, with the byte offset where parsing stopped.
public typealias SyslogError = ParseError
