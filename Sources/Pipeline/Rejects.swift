import MozDefEvent
import Outputs
import Translators

/// The dead-letter file: one JSON object per rejected record,
/// `{"file","line","reason","raw"}`, plus `rawbase64` when the raw bytes are not
/// UTF-8 so the exact input can always be recovered.
final class RejectsWriter {
    private let out: LineOutput
    private var w = JSONWriter(capacity: 4096)

    init(output: LineOutput) { out = output }

    var name: String { out.name }

    func write(file: String, line: Int, reason: String, raw: UnsafeBufferPointer<UInt8>) throws(LineOutput.WriteError) {
        w.reset()
        w.raw(UInt8(ascii: "{"))
        w.key("file", first: true)
        w.string(file)
        w.key("line")
        w.int(Int64(line))
        w.key("reason")
        w.string(reason)
        w.key("raw")
        w.string(bytes: raw)
        if !UTF8Validation.isValid(raw) {
            w.key("rawbase64")
            w.raw(UInt8(ascii: "\""))
            var b64: [UInt8] = []
            Base64.encode(raw, into: &b64)
            b64.withUnsafeBufferPointer { w.append($0) }
            w.raw(UInt8(ascii: "\""))
        }
        w.raw(UInt8(ascii: "}"))
        try w.withBytes { b throws(LineOutput.WriteError) in try out.writeLine(b) }
    }

    func flush() throws(LineOutput.WriteError) { try out.flush() }
}

enum Base64 {
    private static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ src: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        while i + 3 <= src.count {
            let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
            out.append(table[Int(v >> 18 & 63)]); out.append(table[Int(v >> 12 & 63)])
            out.append(table[Int(v >> 6 & 63)]); out.append(table[Int(v & 63)])
            i += 3
        }
        let rem = src.count - i
        if rem > 0 {
            var v = UInt32(src[i]) << 16
            if rem == 2 { v |= UInt32(src[i + 1]) << 8 }
            out.append(table[Int(v >> 18 & 63)]); out.append(table[Int(v >> 12 & 63)])
            out.append(rem == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }
}

/// Events a destination refused (HTTP 4xx other than 408/429): written to the dead-letter file
/// as rejected lines are (--rejects, else stderr), opened on the first one.
final class DeliveryRejects {
    let path: String?
    private var writer: RejectsWriter?
    private(set) var count = 0

    init(path: String?) { self.path = path }

    func reject(_ event: UnsafeBufferPointer<UInt8>, status: Int, response: String) throws(LineOutput.WriteError) {
        if writer == nil {
            writer = try path.map { r throws(LineOutput.WriteError) in RejectsWriter(output: try LineOutput(path: r, append: true)) }
                ?? RejectsWriter(output: LineOutput(fd: 2, name: "stderr", flushAt: 0))
        }
        try writer!.write(file: "delivery", line: 0, reason: "refused by the destination: HTTP \(status) \(response)", raw: event)
        count += 1
    }

    func flush() throws(LineOutput.WriteError) { try writer?.flush() }
}

/// A record no translator could read: written to the rejects file (strict), or made into an
/// unparsed event in `event` (lenient). Returns true when `event` is to be written.
func keepUnreadable(_ rec: UnsafeBufferPointer<UInt8>, error: TranslationError, format: InputFormat, file: String, line: Int,
                    context: RecordContext, rejects: RejectsWriter?, into event: inout Event) throws(LineOutput.WriteError) -> Bool {
    if let rejects {
        try rejects.write(file: file, line: line, reason: error.reason, raw: rec)
        return false
    }
    event = unparsedEvent(rec, context: context, format: format.rawValue, error: error)
    return true
}
