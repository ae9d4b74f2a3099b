import Foundation
import Testing
import TestSupport
@testable import MozDefEvent
@testable import Translators

/// Zeek's own writer baselines (format edge cases with decoded rows, one log per
/// protocol), real logs from zat, and MozDef's broFixup expectations.
@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct ZeekCorpusTests {
    static let edge = "zeek/zeek-btest-baselines/format-edge"

    /// Every event a whole file makes, translated line by line as `convert` does.
    static func events(_ relative: String) throws -> (events: [[String: Any]], errors: [String]) {
        let data = try Data(contentsOf: Corpus.root.appendingPathComponent(relative))
        let name = relative.split(separator: "/").last.map(String.init) ?? relative
        var t = ZeekTranslator(mapping: builtinMappings.mapping(.zeek),
                               defaultPath: ZeekTranslator.path(fromFileName: String(name.split(separator: "_").first ?? "")))
        var out: [[String: Any]] = [], errors: [String] = []
        for (n, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                out.append(try translated(&t, Array(line)))
            } catch let e as TranslationError where e.isNoEvent {
                continue
            } catch {
                errors.append("line \(n + 1): \(error)")
            }
        }
        return (out, errors)
    }

    static let expectedFiles: [String] = {
        guard Corpus.available, let d = try? Corpus.json(edge + "/EXPECTED.json") as? [String: Any] else { return [] }
        return d.keys.sorted()
    }()

    /// The name a Zeek field has in our details (the 4-tuple is renamed).
    static func outputName(_ k: String) -> String {
        ["id.orig_h": "sourceipaddress", "id.orig_p": "sourceport", "id.resp_h": "destinationipaddress", "id.resp_p": "destinationport"][k] ?? k
    }

    /// Bytes as the translator keeps them: UTF-8 as is, other bytes as \xNN text.
    static func rendered(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = ZeekTranslator.utf8SequenceLength(bytes, i)
            if n > 0 { out += bytes[i..<(i + n)]; i += n } else { out += Array(String(format: "\\x%02x", bytes[i]).utf8); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: expectedFiles)
    func formatEdgeRows(_ file: String) throws {
        let spec = try #require(try Corpus.json(Self.edge + "/EXPECTED.json") as? [String: Any])[file] as? [String: Any]
        let (events, errors) = try Self.events(Self.edge + "/" + file)
        #expect(errors.isEmpty, "\(errors.prefix(3))")
        if let hex = spec?["rows_hex"] as? [String] {
            #expect(events.count == hex.count)
            for (e, h) in zip(events, hex) {
                var bytes: [UInt8] = []
                var i = h.startIndex
                while i < h.endIndex { let j = h.index(i, offsetBy: 2); bytes.append(UInt8(h[i..<j], radix: 16)!); i = j }
                let d = e["details"] as? [String: Any]
                let value = d?.first { $0.key != "ts" }?.value as? String
                #expect(value == Self.rendered(bytes), "\(describe(d))")
            }
            return
        }
        let rows = try #require(spec?["rows"] as? [[String: Any]])
        #expect(events.count == rows.count, "\(file)")
        for (e, row) in zip(events, rows) {
            let d = try #require(e["details"] as? [String: Any])
            for (k, want) in row {
                let got = d[Self.outputName(k)]
                if want is NSNull {
                    #expect(got == nil, "\(file) \(k): unset must be absent, got \(describe(got))")
                } else if let w = want as? [Any], let g = got as? [Any], file.contains("json"), k != "vn", k != "vc" {
                    // Sets come in Zeek's iteration order: compare them unordered.
                    #expect(w.map(describe).sorted() == g.map(describe).sorted(), "\(file) \(k)")
                } else {
                    #expect(jsonEqual(got, want), "\(file) \(k): got \(describe(got)), want \(describe(want))")
                }
            }
        }
    }

    static let allLogs: [String] = {
        guard Corpus.available else { return [] }
        var out: [String] = []
        for dir in ["zeek/zeek-btest-baselines/format-edge", "zeek/zeek-btest-baselines/protocols", "zeek/zat-data", "zeek/zat-data/json"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: Corpus.root.appendingPathComponent(dir).path)) ?? []
            for n in names.sorted() where !n.hasSuffix(".txt") && !n.hasSuffix(".gz") && n != "EXPECTED.json" && n != "json" {
                out.append(dir + "/" + n)
            }
        }
        return out
    }()

    /// Every log converts with no errors, and every event has its time and log type.
    @Test(arguments: allLogs)
    func logConverts(_ file: String) throws {
        let (events, errors) = try Self.events(file)
        if file.contains("ascii-tsv__") {
            // Zeek's tsv=T writer leaves the header out: the columns cannot be named.
            #expect(events.isEmpty && !errors.isEmpty)
            #expect(errors.allSatisfy { $0.hasSuffix("a data line before any #fields header") })
            return
        }
        #expect(errors.isEmpty, "\(file): \(errors.prefix(3))")
        for e in events {
            #expect(e["source"] as? String != nil)
            #expect((e["tags"] as? [String])?.contains("zeek") == true)
            #expect(e["category"] as? String == "zeek")
        }
    }

    struct BroCase: CustomTestStringConvertible, Sendable {
        var name: String
        var json: String
        var testDescription: String { name }
    }

    static let broCases: [BroCase] = {
        guard Corpus.available, let cases = try? Corpus.json("zeek/mozdef-brofixup/brofixup_cases.json") as? [[String: Any]] else { return [] }
        return cases.map { c in
            let d = try! JSONSerialization.data(withJSONObject: c, options: [.sortedKeys])
            return BroCase(name: c["test"] as? String ?? "?", json: String(decoding: d, as: UTF8.self))
        }
    }()

    /// MozDef's broFixup tests: the MESSAGE record as a Zeek JSON log line of its type.
    @Test(arguments: broCases)
    func broFixup(_ bc: BroCase) throws {
        let c = try #require(try JSONSerialization.jsonObject(with: Data(bc.json.utf8)) as? [String: Any])
        var message = try #require(c["MESSAGE"] as? [String: Any])
        let source = (c["event"] as? [String: Any])?["SOURCE"] as? String ?? ""
        let logType = source.hasPrefix("bro_") ? String(source.dropFirst(4)) : source
        message["_path"] = logType
        let line = try JSONSerialization.data(withJSONObject: message)
        var t = ZeekTranslator(mapping: builtinMappings.mapping(.zeek))
        let e = try translated(&t, Array(line))
        let d = try #require(e["details"] as? [String: Any])
        #expect(e["source"] as? String == logType)
        #expect(e["severity"] as? String == "INFO")
        for a in c["assertions"] as? [[String: Any]] ?? [] {
            let path = a["path"] as? [String] ?? []
            var target: Any? = e
            for p in path { target = (target as? [String: Any])?[p] }
            switch a["op"] as? String {
            case "==": #expect(jsonEqual(target, a["value"]) || (target as? String) == (a["value"] as? NSNumber).map { "\($0)" },
                               "\(path.joined(separator: ".")): got \(describe(target)), want \(describe(a["value"]))")
            case "has_key": #expect((target as? [String: Any])?[a["value"] as? String ?? ""] != nil, "\(path) lacks \(describe(a["value"]))")
            case "lacks_key": #expect((target as? [String: Any])?[a["value"] as? String ?? ""] == nil, "\(path) has \(describe(a["value"]))")
            default: Issue.record("unknown op \(describe(a["op"]))")
            }
        }
        let checks = (c["other_checks_python"] as? [String] ?? []).joined(separator: "\n")
        if let ts = message["ts"] as? Double, checks.contains("toUTC(MESSAGE['ts'])") {
            let micros = (ts * 1_000_000).rounded()
            let secs = Int64((micros / 1_000_000).rounded(.down))
            let frac = Int64(micros) - secs * 1_000_000
            let t = Timestamp(epochSeconds: secs, nanoseconds: Int32(frac * 1000), fractionDigits: frac == 0 ? 0 : 6)
            #expect(e["utctimestamp"] as? String == t.iso8601(utc: true))
            #expect(e["timestamp"] as? String == t.iso8601(utc: true))
        }
        if checks.contains("for key in MESSAGE.keys()") {
            for (k, v) in message where k != "_path" && !k.hasPrefix("id.") && !k.hasPrefix("version.") {
                if k.hasPrefix("certificate.") {
                    let inner = (d["certificate"] as? [String: Any])?[String(k.dropFirst(12))]
                    #expect(jsonEqual(inner, v), "certificate.\(k.dropFirst(12))")
                    continue
                }
                if checks.contains("key.startswith('version.')") || checks.contains("if not key.startswith('id.')") || checks.contains("assert key in result['details']") {
                    #expect(jsonEqual(d[k], v), "details.\(k): got \(describe(d[k])), want \(describe(v))")
                }
            }
        }
        if checks.contains("sorted(result['details'].keys()) == sorted(MESSAGE.keys())") {
            #expect(Set(d.keys) == Set(message.keys).subtracting(["_path"]))
        }
        if checks.contains("MESSAGE['src'] in result['details']['indicators']") {
            #expect((d["indicators"] as? [String])?.contains(message["src"] as? String ?? "") == true)
        }
    }
}
