/// A MozDef event: lowercase keys, schema fields at the top level and everything
/// else under `details` (see MozDef's json_format documentation).
///
/// Optional fields are omitted from the JSON when the source does not carry them;
/// MozDef fills its own defaults ("UNKNOWN") for missing ones at save time.
public struct Event: Sendable, Equatable {
    /// When the source says the event happened, in the source's offset.
    public var timestamp: Timestamp
    /// When mozdef-ship read the record.
    public var receivedTimestamp: Timestamp
    public var category: String
    public var hostname: String?
    public var processid: String?
    public var processname: String?
    public var severity: Severity?
    public var source: String?
    public var summary: String
    public var tags: [String]
    public var details: JSONObject

    public init(timestamp: Timestamp, receivedTimestamp: Timestamp, category: String,
                hostname: String? = nil, processid: String? = nil, processname: String? = nil,
                severity: Severity? = nil, source: String? = nil, summary: String,
                tags: [String] = [], details: JSONObject = JSONObject()) {
        self.timestamp = timestamp
        self.receivedTimestamp = receivedTimestamp
        self.category = category
        self.hostname = hostname
        self.processid = processid
        self.processname = processname
        self.severity = severity
        self.source = source
        self.summary = summary
        self.tags = tags
        self.details = details
    }
}

extension JSONWriter {
    /// Writes the event as one JSON object in a fixed key order.
    public mutating func event(_ e: Event) {
        raw(UInt8(ascii: "{"))
        key("timestamp", first: true)
        timestamp(e.timestamp, utc: false)
        key("utctimestamp")
        timestamp(e.timestamp, utc: true)
        key("receivedtimestamp")
        timestamp(e.receivedTimestamp, utc: true)
        key("category")
        string(e.category)
        if let v = e.hostname { key("hostname"); string(v) }
        if let v = e.processid { key("processid"); string(v) }
        if let v = e.processname { key("processname"); string(v) }
        if let v = e.severity {
            key("severity")
            raw(UInt8(ascii: "\""))
            raw(v.name)
            raw(UInt8(ascii: "\""))
        }
        if let v = e.source { key("source"); string(v) }
        key("summary")
        string(e.summary)
        key("tags")
        raw(UInt8(ascii: "["))
        for (i, t) in e.tags.enumerated() {
            if i > 0 { raw(UInt8(ascii: ",")) }
            string(t)
        }
        raw(UInt8(ascii: "]"))
        key("details")
        object(e.details)
        raw(UInt8(ascii: "}"))
    }

}

extension Event {
    /// The event as one line of JSON (no trailing newline).
    public var jsonString: String {
        var w = JSONWriter(capacity: 512)
        w.event(self)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
