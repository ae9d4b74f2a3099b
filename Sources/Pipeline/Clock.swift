#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MozDefEvent

/// Writes one line to stderr (Swift 6 cannot touch the C `stderr` global).
public func printError(_ s: String, terminator: Bool = true) {
    var line = s
    if terminator { line.append("\n") }
    line.withUTF8 { b in
        var off = 0
        while off < b.count {
            let n = write(2, b.baseAddress! + off, b.count - off)
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}
