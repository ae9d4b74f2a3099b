import CFastPath

/// Cuts a JSON text stream into records without holding whole documents (see
/// `mds_split`): `{"Records":[...]}` yields its elements one by one, so a 130 MB
/// CloudTrail file needs memory for one record, not the file.
public struct RecordSplitter {
    var state = mds_splitter()
    var buffer: [UInt8] = []
    /// A record that would grow past this is an error (the input is not what it claims).
    public var maxRecord = 64 << 20

    public struct SplitError: Error, CustomStringConvertible {
        public var reason: String
        /// The bytes of the broken record, up to the end of the piece fed last (kept, not lost).
        public var partial: [UInt8] = []
        public var description: String { reason }
    }

    public init() {
        state.key_pos = -1
    }

    /// True between records (nothing buffered, not inside a document).
    public var isIdle: Bool { state.depth == 0 && state.in_string == 0 }

    var chunk = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var pos = 0
    var newline = false
    var clearBuffer = false

    /// Starts on the next piece of input (a line; `newline` says one followed it, and it
    /// is kept inside a record so tokens stay apart). The chunk must stay valid until
    /// `next()` returns nil.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, newline: Bool) {
        self.chunk = chunk
        self.newline = newline
        pos = 0
    }

    /// The next complete record of the current chunk (valid until the next call), or nil
    /// when the chunk is used up.
    public mutating func next() throws(SplitError) -> UnsafeBufferPointer<UInt8>? {
        if clearBuffer {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            clearBuffer = false
        }
        guard let base = chunk.baseAddress else {
            if state.capturing != 0, newline { buffer.append(0x0A) }
            newline = false
            return nil
        }
        var start = state.capturing != 0 ? pos : -1
        while true {
            let r = mds_split(&state, base, chunk.count, &pos)
            switch r {
            case Int32(MDS_SPLIT_START):
                start = pos - 1
            case Int32(MDS_SPLIT_END):
                let s = max(start, 0)
                if buffer.isEmpty {
                    return UnsafeBufferPointer(rebasing: chunk[s..<pos])
                }
                buffer.append(contentsOf: chunk[s..<pos])
                clearBuffer = true
                return buffer.withUnsafeBufferPointer { $0 }  // stable until the buffer changes: the next call
            case Int32(MDS_SPLIT_CANCEL):
                buffer.removeAll(keepingCapacity: true)
                start = -1
            case Int32(MDS_SPLIT_ERROR):
                let at = pos - 1
                let c = chunk[at]
                // What is kept: the broken record so far (or, outside one, the text from the
                // bad byte) to the end of this piece; records before it were already returned.
                var partial = state.capturing != 0 ? buffer : []
                partial.append(contentsOf: chunk[(state.capturing != 0 ? max(start, 0) : at)...])
                reset()
                chunk = UnsafeBufferPointer(start: nil, count: 0)
                throw SplitError(reason: "not JSON: unexpected '\(Character(Unicode.Scalar(c)))' at byte \(at + 1)", partial: partial)
            default:  // MORE: the chunk is used up
                if start >= 0 {
                    buffer.append(contentsOf: chunk[start...])
                    if newline { buffer.append(0x0A) }
                    if buffer.count > maxRecord {
                        var partial = buffer
                        if newline, partial.last == 0x0A { partial.removeLast() }
                        reset()
                        chunk = UnsafeBufferPointer(start: nil, count: 0)
                        throw SplitError(reason: "a JSON record longer than \(maxRecord >> 10) KiB", partial: partial)
                    }
                }
                chunk = UnsafeBufferPointer(start: nil, count: 0)
                newline = false
                return nil
            }
        }
    }

    /// Forgets a partial record (after an error, or at the end of a file).
    public mutating func reset() {
        state = mds_splitter()
        state.key_pos = -1
        buffer.removeAll()
    }

    /// Bytes of an unfinished record at the end of the input.
    public var pending: Int { buffer.count }

    /// The unfinished record's bytes; the splitter starts afresh.
    public mutating func takePending() -> [UInt8] {
        let b = buffer
        reset()
        return b
    }
}
