import MozDefEvent

/// A syslog record after framing and parsing, before it becomes a MozDef event.
public struct SyslogMessage: Sendable, Equatable {
    public enum Format: Sendable, Equatable { case rfc5424, rfc3164 }

    public struct SDParam: Sendable, Equatable {
        public var name: String
        public var value: String
    }
    public struct SDElement: Sendable, Equatable {
        public var id: String
        public var params: [SDParam]
    }

    public var format: Format
    /// PRIVAL; nil when the line had none (RFC 3164 relays then assume 13, user.notice).
    public var priority: Int?
    public var version: Int?
    public var timestamp: Timestamp?
    /// False when the source wrote a wall-clock time without a zone (the default zone was applied).
    public var timestampHasZone: Bool = false
    public var hostname: String?
    public var appname: String?
    public var procid: String?
    public var msgid: String?
    public var structuredData: [SDElement]?
    /// MSG without a leading BOM; nil when absent or empty.
    public var message: String?

    public var facility: Int? { priority.map { $0 >> 3 } }
    public var severity: Int? { priority.map { $0 & 7 } }

    public init(format: Format) { self.format = format }
}

/// Why a line is not valid syslog, with the 0-based byte column where parsing stopped.
public struct SyslogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var column: Int
    public init(_ reason: String, column: Int) {
        self.reason = reason
        self.column = column
    }
    public var description: String { "\(reason) at column \(column + 1)" }
}
