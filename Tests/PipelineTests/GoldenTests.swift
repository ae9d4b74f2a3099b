import Foundation
import Testing

/// Every input in samples/<format>/ converts to exactly its checked-in
/// `<input>.expected.jsonl` (rewrite them on purpose with `make golden`).
@Suite struct GoldenTests {
    static let now = "2026-11-29T00:00:00Z"

    /// Each folder is a format; `mixed` is converted with auto detection.
    static let formats = ["syslog", "cef", "zeek", "gelf", "cloudtrail", "mixed"]

    static func format(of input: String) -> String {
        let folder = input.split(separator: "/")[1]
        return folder == "mixed" ? "auto" : String(folder)
    }

    static let inputs: [String] = {
        let root = Binary.repoRoot.appendingPathComponent("samples")
        var out: [String] = []
        for format in formats {
            let dir = root.appendingPathComponent(format)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for n in names.sorted() where !n.hasSuffix(".expected.jsonl") && !n.hasSuffix(".md") {
                out.append("samples/\(format)/\(n)")
            }
        }
        return out
    }()

    @Test func samplesExist() {
        #expect(Self.inputs.count >= 15)
        for f in Self.formats { #expect(Self.inputs.contains { $0.hasPrefix("samples/\(f)/") }, "no sample for \(f)") }
    }

    @Test(arguments: inputs)
    func sampleMatchesGoldenFile(_ input: String) throws {
        let r = try Binary.run(["convert", "--format", Self.format(of: input), "--now", Self.now, input])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try String(contentsOf: Binary.repoRoot.appendingPathComponent(input + ".expected.jsonl"), encoding: .utf8)
        let got = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(got.count == want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("\(input) line \(i + 1) differs:\n got: \(g)\nwant: \(w)")
            break
        }
        // Every line is a JSON object with the mandatory MozDef fields (MozDef events in the
        // mixed stream pass through as they came).
        for line in got where !line.isEmpty && Self.format(of: input) != "auto" {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for k in ["timestamp", "utctimestamp", "category", "summary", "tags", "details", "source"] {
                #expect(o[k] != nil, "\(k) missing in \(line)")
            }
            #expect((o["utctimestamp"] as? String)?.hasSuffix("+00:00") == true)
            // MozDef sets receivedtimestamp on receipt; a shipper does not send it.
            #expect(o["receivedtimestamp"] == nil)
        }
    }
}
