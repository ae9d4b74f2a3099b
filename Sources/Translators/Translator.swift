import MozDefEvent

/// What a translator knows about where a record came from.
public struct RecordContext: Sendable {
    /// The input's path, or "stdin"; becomes the event's `source`.
    public var source: String
    /// When the record was read: the event's `timestamp` when the record carries none.
    public var received: Timestamp

    public init(source: String, received: Timestamp) {
        self.source = source
        self.received = received
    }
}

/// Why a record could not be translated; the pipeline adds file and line.
public struct TranslationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// Set on a record that is skipped on purpose (reason empty): said once per input.
    public var note: String?
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// bytes in → Event or TranslationError out, one record at a time.
public protocol Translator: Sendable {
    /// Translates one record, refilling `event` in place so its storage is reused record
    /// after record. Translators with state (a Zeek header, caches) update it here.
    mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into event: inout Event) throws(TranslationError)
}

extension Translator {
    /// One record into a new event (tests, one-off use): the state is a copy's.
    public func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext) throws(TranslationError) -> Event {
        var copy = self
        var e = Event(timestamp: context.received, category: "", summary: "")
        try copy.translate(record, context: context, into: &e)
        return e
    }
}

/// The event kept for a record that no translator could read (lenient mode):
/// the raw line as the summary, tagged so it can be found and replayed.
public func unparsedEvent(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, format: String, error: TranslationError) -> Event {
    var details = JSONObject()
    details.append("error", true)
    details.append("parseerror", .string(error.reason))
    details.append("format", .string(format))
    return Event(timestamp: context.received, category: "unparsed",
                 source: context.source, summary: String(decoding: record, as: UTF8.self),
                 tags: ["unparsed"], details: details)
}

/// Input formats `convert --format` accepts.
public enum InputFormat: String, Sendable, CaseIterable {
    case auto, syslog, cef, zeek, gelf, cloudtrail, mozdef

    /// Formats with a mapping file.
    public static let mapped: [InputFormat] = [.syslog, .cef, .zeek, .gelf, .cloudtrail]
}
