import Foundation
import Testing
import TestSupport

/// Every format through `convert`, as files, archives and stdin: framing (JSON across
/// lines, Records files, NUL-delimited GELF), auto detection, skipped records and errors.
@Suite struct FormatPipelineTests {
    let tmp: TemporaryDirectory
    init() throws { tmp = try TemporaryDirectory(prefix: "mozdef-ship-formats") }

    func objects(_ s: String) throws -> [[String: Any]] {
        try s.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static let now = "2026-11-29T00:00:00Z"

    @Test func autoDetectsEachRecordOfAMixedStream() throws {
        let lines = [
            "<38>Nov 28 10:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
            "Nov 28 10:00:01 fw CEF:0|Vendor|FW|1.0|100|Blocked|5|src=192.0.2.9 dpt=443",
            #"{"version":"1.1","host":"app1","short_message":"hello","level":6,"_user":"bob"}"#,
            #"{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"198.51.100.1","eventTime":"2026-11-28T10:00:02Z"}"#,
            #"{"ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"_path":"dns","qtype_name":"A"}"#,
            #"{"utctimestamp":"2026-11-28T10:00:03+00:00","category":"x","summary":"already MozDef","details":{"a":1}}"#,
        ]
        let r = try Binary.run(["convert", "--now", Self.now], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let e = try objects(r.stdout)
        #expect(e.map { $0["category"] as? String } == ["authentication", "cef", "gelf", "cloudtrail", "zeek", "x"])
        #expect(e[2]["summary"] as? String == "hello")
        #expect(e[4]["summary"] as? String == "DNS A type query 10.0.0.1 -> 10.0.0.2:53")
        // MozDef events pass through as they came.
        #expect(r.stdout.split(separator: "\n")[5] == #"{"utctimestamp":"2026-11-28T10:00:03+00:00","category":"x","summary":"already MozDef","details":{"a":1}}"#)
    }

    @Test func cloudTrailRecordsFilesStreamRecordByRecordAndDigestsAreSkipped() throws {
        var records: [String] = []
        for i in 0..<50 {
            records.append(#"{"eventVersion":"1.08","eventTime":"2026-11-28T10:00:\#(String(format: "%02d", i))Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"192.0.2.\#(i)","userIdentity":{"type":"IAMUser","userName":"u\#(i)"}}"#)
        }
        // Pretty-printed over many lines, and minified on one.
        let pretty = "{\n  \"Records\": [\n" + records.joined(separator: ",\n") + "\n  ]\n}\n"
        let a = try tmp.write("pretty.json", Array(pretty.utf8))
        let b = try tmp.write("one-line.json", Array(("{\"Records\":[" + records.joined(separator: ",") + "]}").utf8))
        let digest = try tmp.write("digest.json", Array(#"{"awsAccountId":"111122223333","digestStartTime":"2026-11-28T10:00:00Z","digestEndTime":"2026-11-28T11:00:00Z","logFiles":[{"s3Object":"x"}]}"#.utf8))
        for format in ["cloudtrail", "auto"] {
            let r = try Binary.run(["convert", "--format", format, "--now", Self.now, a, b, digest])
            #expect(r.status == 0, "\(r.stderr)")
            let e = try objects(r.stdout)
            #expect(e.count == 100)
            #expect(e.allSatisfy { $0["category"] as? String == "cloudtrail" })
            #expect((e[49]["details"] as? [String: Any])?["username"] as? String == "u49")
            #expect(e[7]["utctimestamp"] as? String == "2026-11-28T10:00:07+00:00")
            #expect(r.stderr.contains("note: \(digest): CloudTrail digest file"))
            #expect(r.stderr.contains("0 unparsed"))
        }
    }

    @Test func brokenAndUnfinishedJSONIsKeptNotDropped() throws {
        let p = try tmp.write("broken.json", Array("{\"Records\":[{\"eventName\":\"A\",\"eventSource\":\"s\"},\n{\"eventName\":\n".utf8))
        let r = try Binary.run(["convert", "--format", "cloudtrail", "--now", Self.now, p])
        let e = try objects(r.stdout)
        #expect(e.count == 2)
        #expect(e[0]["category"] as? String == "cloudtrail")
        #expect(e[1]["category"] as? String == "unparsed")
        #expect((e[1]["summary"] as? String)?.contains("\"eventName\":") == true)
        #expect(((e[1]["details"] as? [String: Any])?["parseerror"] as? String)?.contains("ends inside a JSON document") == true)
        let rejects = tmp.path("rejects.jsonl")
        let s = try Binary.run(["convert", "--format", "cloudtrail", "--strict", "--rejects", rejects, p])
        #expect(s.status == 1)
        #expect(try objects(String(contentsOfFile: rejects, encoding: .utf8)).count == 1)
    }

    @Test func strayBraceDoesNotSwallowTheLinesAfterIt() throws {
        let text = "{ broken\n<13>Nov 28 10:00:00 h app: after\n" + #"{"summary":"s","category":"c"} trailing"# + "\n[    0.000000] Linux version 6.1\n"
        let r = try Binary.run(["convert", "--now", Self.now], stdin: Data(text.utf8))
        let e = try objects(r.stdout)
        #expect(e.map { $0["category"] as? String } == ["unparsed", "syslog", "c", "unparsed", "unparsed"])
        #expect(e[0]["summary"] as? String == "{ broken")
        #expect(e[1]["summary"] as? String == "after")
        #expect(e[3]["summary"] as? String == "trailing")  // kept once, not the whole line again
        #expect(((e[4]["details"] as? [String: Any])?["format"] as? String) == "syslog")  // dmesg text is not JSON
    }

    @Test func prettyPrintedDocumentsGiveOneLineEvents() throws {
        let gelf = "{\n  \"version\": \"1.1\",\n  \"host\": \"h\",\n  \"short_message\": \"m\",\n  \"_ctx\": {\n    \"a\": [1,\n 2]\n  }\n}\n"
        let zeek = "{\n\"_path\": \"dns\", \"ts\": 1700000000,\n\"answers\": [\n\"a\",\n\"b\"]\n}\n"
        let r = try Binary.run(["convert", "--now", Self.now], stdin: Data((gelf + zeek).utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let e = try objects(r.stdout)
        #expect(((e[0]["details"] as? [String: Any])?["ctx"] as? [String: Any])?["a"] as? [Int] == [1, 2])
        #expect((e[1]["details"] as? [String: Any])?["answers"] as? [String] == ["a", "b"])
    }

    @Test func nulDelimitedGELF() throws {
        let docs = (1...3).map { #"{"version":"1.1","host":"h","short_message":"m\#($0)"}"# }
        let r = try Binary.run(["convert", "--format", "gelf", "--now", Self.now], stdin: Data((docs.joined(separator: "\0") + "\0").utf8))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try objects(r.stdout).map { $0["summary"] as? String } == ["m1", "m2", "m3"])
    }

    @Test func zeekHeadersAreSkippedAndPathComesFromTheHeaderOrTheFileName() throws {
        let tsv = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tauth_success\n#types\ttime\tstring\taddr\tport\taddr\tport\tbool\n1700000000.000000\tC1\t10.0.0.1\t5555\t10.0.0.2\t22\tT\n"
        let p = try tmp.write("ssh.2026-11-28.log", Array(tsv.utf8))
        let r = try Binary.run(["convert", "--now", Self.now, p])
        #expect(r.status == 0, "\(r.stderr)")
        let e = try #require(try objects(r.stdout).first)
        #expect(e["source"] as? String == "ssh")
        #expect(e["summary"] as? String == "SSH: 10.0.0.1 -> 10.0.0.2:22 success True")
        #expect(e["utctimestamp"] as? String == "2023-11-14T22:13:20+00:00")
        #expect(r.stderr.contains("1 records in, 1 events out") && r.stderr.contains("6 header or digest records"))
        let q = try Binary.run(["convert", "--format", "zeek", "--zeek-path", "conn", "--now", Self.now, p])
        #expect(try objects(q.stdout).first?["source"] as? String == "conn")
    }

    @Test func zeekTsIsTheTimeEvenWithoutTypes() throws {
        let r = try Binary.run(["convert", "--format", "zeek"], stdin: Data("#separator \\x09\n#fields\tts\tuid\n1700000000.5\tC1\n".utf8))
        #expect(try objects(r.stdout).first?["utctimestamp"] as? String == "2023-11-14T22:13:20.500000+00:00")
    }

    @Test func emptyZeekSeparatorsAreRefusedNotFatal() throws {
        let text = "#separator \n#set_separator\t\n#fields\ta\tb\n#types\tset[string]\tstring\nx,y\tz\n"
        let r = try Binary.run(["convert", "--format", "zeek"], stdin: Data(text.utf8))
        #expect(r.status == 0)
        let e = try objects(r.stdout)
        #expect(e.map { $0["category"] as? String } == ["unparsed", "unparsed", "zeek"])
        #expect((e[2]["details"] as? [String: Any])?["a"] as? [String] == ["x", "y"])  // the last good separators stay
    }

    @Test func zeekFieldNamesThatAreNotUTF8AreRepaired() throws {
        var text = Array("#separator \\x09\n#fields\td".utf8) + [0xC9] + Array("ta\tc\n#types\tstring\tcount\nTest1\t42\n".utf8)
        text += Array("x\n".utf8)
        let r = try Binary.run(["convert", "--format", "zeek"], stdin: Data(text))
        let e = try objects(r.stdout)  // every line parses as JSON
        #expect((e[0]["details"] as? [String: Any])?["d\u{FFFD}ta"] as? String == "Test1")
    }

    @Test func badMappingsAreRefusedBeforeAnyInput() throws {
        let dir = tmp.path("maps")
        try tmp.write("maps/zeek.map", Array("category bro\n[conn]\nsummary \"{history\"\n".utf8))
        let r = try Binary.run(["convert", "--mappings", dir, "/nonexistent"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(dir)/zeek.map:3: template: '{' without '}'"))
        #expect(r.stdout.isEmpty)
    }

    @Test func mappingsDirectoryChangesTheOutput() throws {
        let dir = tmp.path("maps2")
        try tmp.write("maps2/zeek.map", Array("category bro\ntag bro\n".utf8))
        let line = #"{"ts":1700000000,"_path":"conn","id.orig_h":"10.0.0.1"}"#
        let r = try Binary.run(["convert", "--format", "zeek", "--mappings", dir, "--now", Self.now], stdin: Data((line + "\n").utf8))
        let e = try #require(try objects(r.stdout).first)
        #expect(e["category"] as? String == "bro")
        #expect(e["tags"] as? [String] == ["bro"])
        #expect((e["details"] as? [String: Any])?["id.orig_h"] as? String == "10.0.0.1")
    }

    @Test(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
    func awsDocumentationExamples() throws {
        let dir = Corpus.root.appendingPathComponent("cloudtrail/aws-docs-examples/records")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names.count >= 18)
        var expected = 0
        for n in names where n.hasSuffix(".json") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(n))) as? [String: Any])
            expected += (o["Records"] as? [Any])?.count ?? 0
        }
        expected += 1  // error_code_example.json.gz holds one record
        let r = try Binary.run(["convert", "--format", "cloudtrail", "--now", Self.now, dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let e = try objects(r.stdout)
        #expect(e.count == expected)
        #expect(e.allSatisfy { $0["category"] as? String == "cloudtrail" && ($0["summary"] as? String)?.contains(" performed ") == true })
        // Every documented block: events for records, nothing for digests, refusal for the elided fragments.
        let blocks = try #require(try Corpus.json("cloudtrail/aws-docs-examples/aws_doc_examples.json") as? [[String: Any]])
        for b in blocks {
            let text = b["text"] as? String ?? ""
            let s = try Binary.run(["convert", "--now", Self.now], stdin: Data((text + "\n").utf8))
            let evs = try objects(s.stdout)
            let unparsed = evs.filter { $0["category"] as? String == "unparsed" }.count
            if b["fragment_wrapped_in_braces"] as? Bool == true { continue }  // a piece of a record, not a document
            if b["valid_json"] as? Bool == true {
                if text.contains("\"digestStartTime\"") {
                    #expect(evs.isEmpty && s.stderr.contains("note: stdin: CloudTrail digest file"))
                } else if text.contains("\"Records\"") || text.contains("\"eventVersion\"") {
                    #expect(unparsed == 0 && !evs.isEmpty, "\(b["section"] ?? "")")
                } else {
                    // API input/output shown in the guide: not an event, so kept as unparsed, not dropped.
                    #expect(unparsed == 1 && evs.count == 1, "\(b["section"] ?? "")")
                }
            } else {
                #expect(unparsed > 0, "an elided fragment must not pass: \(b["section"] ?? "")")
            }
        }
    }

    @Test(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
    func corruptZeekArchiveIsAnErrorNamingTheFile() throws {
        let p = Corpus.root.appendingPathComponent("zeek/zat-data/http.log.corrupt.gz").path
        let r = try Binary.run(["convert", "--format", "zeek", p])
        #expect(r.status == 2)
        #expect(r.stderr.contains(p))
        let good = Corpus.root.appendingPathComponent("zeek/zat-data/http.log.gz").path
        let g = try Binary.run(["convert", good])
        #expect(g.status == 0)
        #expect(try objects(g.stdout).allSatisfy { $0["source"] as? String == "http" })
    }

    @Test(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
    func mozdefSchemaSamplesPassThrough() throws {
        let dir = Corpus.root.appendingPathComponent("mozdef/mozdef-schema-samples")
        for n in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where n.hasPrefix("events-") || n.hasPrefix("alertcreating-") {
            let data = try Data(contentsOf: dir.appendingPathComponent(n))
            let arr = try JSONSerialization.jsonObject(with: data)
            let docs = (arr as? [Any]) ?? [arr]
            let lines = try docs.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            let r = try Binary.run(["convert", "--format", "mozdef"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
            let out = try objects(r.stdout)
            #expect(out.count == docs.count, "\(n)")
            for (o, d) in zip(out, docs) {
                let want = try #require(d as? [String: Any])
                if want["summary"] is String {
                    #expect(NSDictionary(dictionary: o) == NSDictionary(dictionary: want), "\(n)")
                } else {
                    #expect(o["category"] as? String == "unparsed", "\(n): no summary must not pass")
                }
            }
        }
    }
}
