import CZlib

/// Why a GELF datagram or payload was refused.
public struct GELFError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reassembles chunked GELF UDP datagrams (GELF 1.1 spec, "Chunking"): a chunk is
/// 0x1e 0x0f, an 8-byte message id, a sequence number, a sequence count (1-128) and
/// a part of the payload. Chunks may arrive in any order and more than once; a
/// message still incomplete `timeout` seconds after its first chunk is discarded.
/// The payload is then decoded by its first bytes: gzip, zlib or plain.
public final class GELFAssembler {
    public static let maxChunks = 128

    /// Seconds an incomplete message is kept (the spec says 5).
    public var timeout: Double
    /// Largest reassembled or inflated payload accepted, so a peer cannot make us
    /// hold or inflate without bound.
    public var maxPayloadBytes: Int
    /// Messages discarded because they did not complete in time.
    public private(set) var expired = 0

    private struct Pending {
        var total: Int
        var parts: [[UInt8]?]
        var received = 0
        var bytes = 0
        var firstSeen: Double
    }
    private var pending: [UInt64: Pending] = [:]

    public init(timeout: Double = 5, maxPayloadBytes: Int = 8 << 20) {
        self.timeout = timeout
        self.maxPayloadBytes = maxPayloadBytes
    }

    public var pendingMessages: Int { pending.count }

    /// Feeds one datagram received at `now` (seconds, any monotonic origin). Returns the
    /// decoded payload when a message is complete, nil while chunks are missing.
    public func feed(_ d: [UInt8], now: Double) throws(GELFError) -> [UInt8]? {
        expire(now: now)
        guard d.count >= 2, d[0] == 0x1E, d[1] == 0x0F else {
            return try GELFPayload.decode(d, limit: maxPayloadBytes)  // not chunked: the datagram is the payload
        }
        guard d.count >= 12 else { throw GELFError("chunk header shorter than 12 bytes") }
        var id: UInt64 = 0
        for k in 2..<10 { id = id << 8 | UInt64(d[k]) }
        let seq = Int(d[10]), total = Int(d[11])
        guard total >= 1, total <= Self.maxChunks else {
            pending[id] = nil
            throw GELFError("sequence count \(total) outside 1...\(Self.maxChunks)")
        }
        guard seq < total else {
            throw GELFError("sequence number \(seq) not below the count \(total)")
        }
        var p = pending[id] ?? Pending(total: total, parts: Array(repeating: nil, count: total), firstSeen: now)
        guard p.total == total else {
            pending[id] = nil
            throw GELFError("sequence count \(total) differs from the \(p.total) of earlier chunks of this message")
        }
        if p.parts[seq] == nil {  // a repeated chunk is ignored
            let part = Array(d[12...])
            p.bytes += part.count
            guard p.bytes <= maxPayloadBytes else {
                pending[id] = nil
                throw GELFError("message larger than \(maxPayloadBytes) bytes")
            }
            p.parts[seq] = part
            p.received += 1
        }
        if p.received < total {
            pending[id] = p
            return nil
        }
        pending[id] = nil
        var payload: [UInt8] = []
        payload.reserveCapacity(p.bytes)
        for part in p.parts { payload.append(contentsOf: part!) }
        return try GELFPayload.decode(payload, limit: maxPayloadBytes)
    }

    /// Drops messages whose first chunk is older than `timeout`; returns how many.
    @discardableResult
    public func expire(now: Double) -> Int {
        let old = pending.filter { now - $0.value.firstSeen > timeout }.map(\.key)
        for k in old { pending[k] = nil }
        expired += old.count
        return old.count
    }
}

/// A GELF payload by its first bytes: gzip (1f 8b), zlib (78 xx), else as is.
public enum GELFPayload {
    public static func decode(_ b: [UInt8], limit: Int) throws(GELFError) -> [UInt8] {
        guard !b.isEmpty else { throw GELFError("empty payload") }
        if b.count >= 2 && b[0] == 0x1F && b[1] == 0x8B { return try inflate(b, windowBits: 15 + 16, limit: limit, kind: "gzip") }
        if b.count >= 2 && b[0] == 0x78 && (UInt16(b[0]) << 8 | UInt16(b[1])) % 31 == 0 {
            return try inflate(b, windowBits: 15, limit: limit, kind: "zlib")
        }
        guard b.count <= limit else { throw GELFError("payload larger than \(limit) bytes") }
        return b
    }

    /// One-shot inflate with a bound on the output (a small datagram can expand a lot).
    static func inflate(_ input: [UInt8], windowBits: Int32, limit: Int, kind: String) throws(GELFError) -> [UInt8] {
        var s = z_stream()
        guard mds_inflateInit2(&s, windowBits) == Z_OK else { throw GELFError("cannot start the \(kind) decoder") }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: min(max(input.count * 4, 4096), limit + 1))
        var produced = 0
        var src = input
        let rc: Int32 = src.withUnsafeMutableBufferPointer { inp in
            s.next_in = inp.baseAddress
            s.avail_in = uInt(inp.count)
            while true {
                if produced == out.count {
                    if out.count > limit { return Z_BUF_ERROR }
                    out.append(contentsOf: repeatElement(0, count: min(out.count, limit + 1 - out.count)))
                }
                let r: Int32 = out.withUnsafeMutableBufferPointer { o in
                    s.next_out = o.baseAddress! + produced
                    s.avail_out = uInt(o.count - produced)
                    let r = CZlib.inflate(&s, Z_NO_FLUSH)
                    produced = o.count - Int(s.avail_out)
                    return r
                }
                if r == Z_STREAM_END { return r }
                if r != Z_OK { return r }
                if s.avail_in == 0 && produced < out.count { return Z_BUF_ERROR }  // input ended mid-stream
            }
        }
        if produced > limit { throw GELFError("inflated payload larger than \(limit) bytes") }
        guard rc == Z_STREAM_END else {
            throw GELFError(rc == Z_BUF_ERROR ? "truncated \(kind) payload" : "corrupt \(kind) payload")
        }
        out.removeSubrange(produced...)
        return out
    }
}
