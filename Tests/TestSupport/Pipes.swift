import Foundation

/// The first line a child process writes to `pipe` (a test server announcing its port), read
/// without waiting for the pipe's end; empty if the child exits first.
public func firstLine(of pipe: Pipe) -> String {
    var line = Data()
    while !line.contains(0x0A) {
        let d = pipe.fileHandleForReading.availableData
        if d.isEmpty { break }
        line.append(d)
    }
    let text = String(decoding: line, as: UTF8.self)
    return String(text.prefix { $0 != "\n" }).trimmingCharacters(in: .whitespaces)
}
