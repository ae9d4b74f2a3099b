/// MozDef severities: RFC 5424 severity names in capitals.
public enum Severity: UInt8, Sendable, CaseIterable {
    case emergency = 0, alert, critical, error, warning, notice, info, debug

    public var name: StaticString {
        switch self {
        case .emergency: "EMERGENCY"
        case .alert: "ALERT"
        case .critical: "CRITICAL"
        case .error: "ERROR"
        case .warning: "WARNING"
        case .notice: "NOTICE"
        case .info: "INFO"
        case .debug: "DEBUG"
        }
    }

    public var string: String { name.description }

    public init?(name: String) {
        guard let s = Severity.allCases.first(where: { $0.string == name.uppercased() }) else { return nil }
        self = s
    }
}

/// Syslog facility names (RFC 5424 §6.2.1 codes 0-23) as rsyslog and MozDef spell them.
public enum Facility {
    public static let names: [StaticString] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
        "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ]
    /// Made once: building a String from a StaticString per event is measurable.
    static let strings: [String] = names.map(\.description)
    public static func name(_ code: Int) -> String? {
        code >= 0 && code < strings.count ? strings[code] : nil
    }
}
