import Foundation
import Testing
import TestSupport

/// The fault suite's short form (scripts/faults; `make faults` runs it with a million lines):
/// `mozdef-ship tail` → RabbitMQ → `mozdef-receiver` while a writer appends and rotates, and
/// the shipper, the receiver and the broker are each killed with SIGKILL, the spool's
/// filesystem fills and the checkpoint file is damaged. Nothing may be lost; duplicates stay
/// within the documented bound.
@Suite struct FaultSuiteTests {
    @Test func killsAFullDiskAndADamagedCheckpointLoseNothing() throws {
        let seed = UInt32.random(in: 1...1_000_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [Binary.repoRoot.appendingPathComponent("scripts/faults").path, Binary.url.deletingLastPathComponent().path,
                       "--lines", "100000", "--rate", "5000", "--kills", "1", "--seed", String(seed)]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let report = text.split(separator: "\n").first { $0.hasPrefix("{") }
            .flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(report?["written"] as? Int == 100_000, "\(text)")
        #expect(report?["lost"] as? Int == 0, "seed \(seed): \(text)")
        #expect((report?["duplicated"] as? Int ?? .max) <= (report?["duplicate_bound"] as? Int ?? 0), "seed \(seed): \(text)")
        #expect(p.terminationStatus == 0, "seed \(seed): \(text)")
    }
}
