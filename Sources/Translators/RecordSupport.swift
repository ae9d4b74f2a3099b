import MozDefEvent

extension Event {
    /// Empties the event for the next record, keeping its storage.
    @inline(__always) public mutating func clear(timestamp t: Timestamp) {
        timestamp = t
        receivedTimestamp = nil
        passthrough = false
        severity = nil
        if !tags.isEmpty { tags.removeAll(keepingCapacity: true) }
        bytes.removeAll(keepingCapacity: true)
        categoryText = .literal("")
        hostnameText = nil
        processidText = nil
        processnameText = nil
        sourceText = nil
        summaryText = .literal("")
        detailFields.removeAll(keepingCapacity: true)
        if !extraDetails.isEmpty { extraDetails = JSONObject() }
    }

    /// Sets the source to the input's name, keeping the stored String when it is the same.
    @inline(__always) public mutating func setSource(_ s: String) {
        if case .string(let old)? = sourceText, old == s {} else { sourceText = .string(s) }
    }
}

/// Copies the record into `bytes` (invalid UTF-8 repaired with U+FFFD) and runs `body`
/// over bytes identical to that copy, so ranges found while parsing index `bytes` too.
/// `body` may append to `bytes` (derived text goes after the record).
@inline(__always)
func withRecordCopy<R>(_ record: UnsafeBufferPointer<UInt8>, into bytes: inout [UInt8],
                       _ body: (UnsafeBufferPointer<UInt8>, inout [UInt8]) throws(TranslationError) -> R) throws(TranslationError) -> R {
    bytes.removeAll(keepingCapacity: true)
    if UTF8Validation.isValid(record) {
        bytes.append(contentsOf: record)
        return try body(record, &bytes)
    }
    let repaired = Array(String(decoding: record, as: UTF8.self).utf8)
    bytes.append(contentsOf: repaired)
    return try repaired.withUnsafeBufferPointer { p throws(TranslationError) in try body(p, &bytes) }
}

/// MozDef renders a user-visible number the way Python does; templates need the
/// digits of small integers often (CEF severities, ports).
@inline(__always) func parseSmallInt(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
    guard !r.isEmpty, r.count <= 9 else { return nil }
    var v = 0
    for i in r {
        let d = p[i] &- 48
        guard d < 10 else { return nil }
        v = v * 10 + Int(d)
    }
    return v
}
