#if canImport(Glibc)
import Glibc
#endif

/// Where events go: blocks of complete JSON lines in, delivered by `flush`.
/// `flush` returning means every event written so far is delivered (written to a file or
/// pipe; confirmed by a broker): the tailer's checkpoints rely on it.
public protocol EventSink: AnyObject {
    var name: String { get }
    /// Takes a block of complete lines (each event ends with a line feed).
    func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError)
    /// Delivers everything written so far.
    func flush() throws(LineOutput.WriteError)
    /// Makes delivered events durable where the sink can (fsync of a file).
    func sync() throws(LineOutput.WriteError)
    /// Reopens a file destination (SIGHUP); nothing for others.
    func reopen() throws(LineOutput.WriteError)
    /// Counts for the summary line, if the sink keeps any.
    var statsLine: String? { get }
    /// Seconds the sink would like to keep collecting before `flush` (a young partial
    /// batch, --batch-wait); nil: flush now.
    var holdFor: Double? { get }
}

extension EventSink {
    public var holdFor: Double? { nil }
}

extension LineOutput: EventSink {
    public var statsLine: String? { nil }
}

/// Calls `body` with each non-empty line of a block of complete lines (without its line feed).
@inline(__always)
func forEachLine(_ bytes: UnsafeRawBufferPointer,
                 _ body: (UnsafeBufferPointer<UInt8>) throws(LineOutput.WriteError) -> Void) throws(LineOutput.WriteError) {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
    var s = 0
    while s < bytes.count {
        let e = memchr(base + s, 0x0A, bytes.count - s).map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? bytes.count
        if e > s { try body(UnsafeBufferPointer(start: base + s, count: e - s)) }
        s = e + 1
    }
}
