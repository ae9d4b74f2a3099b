import Foundation
import Testing
import TestSupport

/// `--to es+http://` against Tests/Support/es_bulk_server.py. No Elasticsearch runs here: that
/// server speaks the bulk API as Elasticsearch documents it (action lines, per-item statuses
/// and errors in the answer, 429 for a full write queue, 413 over http.max_content_length)
/// and keeps what it indexed.
@Suite(.serialized) struct ElasticsearchTests {
    final class Server {
        let process = Process()
        let store: String
        let port: Int

        init(_ dir: TemporaryDirectory, _ extra: [String] = [], store name: String = "indexed.jsonl") throws {
            store = dir.path(name)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [Binary.repoRoot.appendingPathComponent("Tests/Support/es_bulk_server.py").path,
                                 "--port", "0", "--store", store] + extra
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            port = Int(firstLine(of: out).split(separator: " ").last ?? "") ?? 0  // "listening PORT"
        }

        var url: String { "es+http://127.0.0.1:\(port)" }

        /// What it indexed: (index, source) in the order it took them.
        var indexed: [(index: String, source: [String: Any])] {
            guard let d = FileManager.default.contents(atPath: store) else { return [] }
            return String(decoding: d, as: UTF8.self).split(separator: "\n").compactMap {
                guard let o = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any],
                      let i = o["_index"] as? String, let s = o["_source"] as? [String: Any] else { return nil }
                return (i, s)
            }
        }

        var stats: [String: Int] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                           "http://127.0.0.1:\(port)/_stats/requests"]
            let out = Pipe()
            p.standardOutput = out
            try? p.run()
            let d = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (try? JSONSerialization.jsonObject(with: d) as? [String: Int]) ?? [:]
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static let now = HTTPTests.now

    /// The events of `input` as mozdef-ship writes them to stdout.
    static func local(_ input: String) throws -> [[String: Any]] {
        try Binary.run(["convert", "--format", "syslog", "--now", now, input]).stdout.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func summaries(_ docs: [[String: Any]]) -> [String] { docs.map { $0["summary"] as? String ?? "?" } }

    @Test func bulkIntoMozDefsDailyIndexes() throws {
        let dir = try TemporaryDirectory(prefix: "es")
        let server = try Server(dir)
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", server.url, "--batch", "25", HTTPTests.sample])
        #expect(r.status == 0, "\(r.stderr)")
        let want = try Self.local(HTTPTests.sample)
        let got = server.indexed
        #expect(Self.summaries(got.map(\.source)) == Self.summaries(want))
        #expect(got.count == 61)
        // Each event in the index of its own day: events-YYYYMMDD from its utctimestamp.
        for (g, w) in zip(got, want) {
            let day = (w["utctimestamp"] as? String ?? "").prefix(10).replacingOccurrences(of: "-", with: "")
            #expect(g.index == "events-" + day)
            #expect(NSDictionary(dictionary: g.source).isEqual(to: w), "the document arrives as written")
        }
        #expect(server.stats["requests"] == 3, "61 events in batches of 25")
        #expect(r.stderr.contains("61 delivered, 0 rejected, 0 items sent again, 0 retries, 3 requests"), "\(r.stderr)")

        let custom = try Server(dir, store: "custom.jsonl")
        let c = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", custom.url + "/", "--index", "mozdef-%Y.%m", HTTPTests.sample])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(Set(custom.indexed.map(\.index)) == Set(want.map { "mozdef-" + ($0["utctimestamp"] as? String ?? "").prefix(7).replacingOccurrences(of: "-", with: ".") }))

        let bad = try Binary.run(["convert", "--format", "syslog", "--to", server.url, "--index", "Events-%Y", HTTPTests.sample])
        #expect(bad.status != 0 && bad.stderr.contains("--index 'Events-%Y': must be lowercase"), "\(bad.stderr)")
    }

    /// Per-item answers: items refused with 429 go again alone, the others are not sent twice;
    /// items refused for their content (400) go to the rejects file with the item's error.
    @Test func onlyFailedItemsGoAgainAndMappingErrorsAreRejected() throws {
        let dir = try TemporaryDirectory(prefix: "es")
        let server = try Server(dir, ["--busy-every", "4", "--reject-field", "processid"])
        var text = ""
        for i in 0..<60 {
            text += i % 10 == 3 ? "<13>Nov 29 10:00:00 h app[\(i)]: with pid \(i)\n" : "<13>Nov 29 10:00:00 h app: plain \(i)\n"
        }
        let input = try dir.write("in.log", Array(text.utf8))
        let rejects = dir.path("rejects.jsonl")
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", server.url, "--batch", "20",
                                "--rejects", rejects, input])
        #expect(r.status == 1, "events were rejected: \(r.stderr)")
        let got = Self.summaries(server.indexed.map(\.source))
        let plain = (0..<60).filter { $0 % 10 != 3 }.map { "plain \($0)" }
        #expect(got.sorted() == plain.sorted(), "every plain event indexed exactly once")
        let rejected = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n")
        #expect(rejected.count == 6)
        #expect(rejected.allSatisfy { $0.contains("HTTP 400") && $0.contains("mapper_parsing_exception") && $0.contains("with pid") })
        let stats = server.stats
        #expect((stats["items"] ?? 0) > 60, "items refused with 429 were sent again: \(stats)")
        #expect(r.stderr.contains("54 delivered, 6 rejected"), "\(r.stderr)")
    }

    /// Whole requests refused (503) are sent again; one over the server's size limit (413) is
    /// split until it fits.
    @Test func refusedAndTooLargeRequests() throws {
        let dir = try TemporaryDirectory(prefix: "es")
        let server = try Server(dir, ["--fail-requests", "2", "--max-bytes", "6000"])
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", server.url, "--batch", "40", HTTPTests.sample])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.summaries(server.indexed.map(\.source)) == Self.summaries(try Self.local(HTTPTests.sample)))
        #expect(r.stderr.contains("HTTP 503"), "\(r.stderr)")
        #expect((server.stats["requests"] ?? 0) > 2 + 2, "two refused requests, then halves of the 413s")
        #expect(r.stderr.contains("61 delivered, 0 rejected"), "\(r.stderr)")
    }
}
