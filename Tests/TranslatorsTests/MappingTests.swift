import Foundation
import Testing
@testable import MozDefEvent
@testable import Translators

/// The mapping language: the shipped files, the built-in copies, and errors.
@Suite struct MappingTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func builtInMappingsAreTheShippedFiles() throws {
        let dir = Self.repo.appendingPathComponent("mappings")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".map") }.sorted()
        #expect(files == InputFormat.mapped.map { "\($0.rawValue).map" }.sorted())
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            let name = String(f.dropLast(4))
            #expect(BuiltinMappings.files[name] == text, "\(f) differs from the built-in copy: run `make mappings`")
        }
        #expect(BuiltinMappings.files.count == files.count)
    }

    @Test func everyBuiltInMappingCompiles() throws {
        for f in InputFormat.mapped {
            let m = try Mapping(MappingFile(parsing: BuiltinMappings.files[f.rawValue]!, name: f.rawValue))
            #expect(m.file.name == f.rawValue)
        }
        #expect(builtinMappings.mapping(.zeek).sectionNames.contains("conn"))
    }

    @Test(arguments: [
        ("rename a", 1, "rename takes 2 arguments, found 1"),
        ("\n\nfrobnicate x", 3, "unknown directive 'frobnicate'"),
        ("summary \"{a\"", 1, "template: '{' without '}'"),
        ("type x integer", 1, "type: expected one of int, float, bool, string"),
        ("set x \"a", 1, "unterminated quoted string"),
        ("rename a.* b", 1, "rename: both names end in '*' or neither does"),
        ("[conn\nsummary x", 1, "a section header is [name] alone on its line"),
        ("drop x when y present", 1, "'when' applies to set, default, severity and top-level field rules only"),
        ("set x 1 when y maybe", 1, "when: expected FIELD = VALUE, FIELD != VALUE, or FIELD present|absent|ipv4|ipv6"),
        ("severity LOUD", 1, "severity: expected one of EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG"),
        ("set x bare", 1, "set: a value is null, true, false, a number, a \"quoted template\" or a [list]"),
        ("rename a b.c.d", 1, "rename: a new name nests at most one level (parent.child)"),
    ])
    func badFilesAreRefusedWithFileLineAndReason(_ text: String, _ line: Int, _ reason: String) {
        #expect(throws: MappingFile.Error(file: "x.map", line: line, reason: reason)) {
            try MappingFile(parsing: text, name: "x.map")
        }
    }

    @Test func errorText() {
        #expect(MappingFile.Error(file: "m/cef.map", line: 7, reason: "r").description == "m/cef.map:7: r")
    }

    @Test func rulesApply() throws {
        let text = """
        category demo
        tag t1
        rename src sourceipaddress
        rename n.* nested.*
        rename x_* *
        drop secret
        type port int
        type ok bool
        truncate long 3
        strip mac ":"
        default missing "was {sourceipaddress}"
        set list ["{sourceipaddress}", "{absent}"]
        severity WARNING when ok = "True"
        summary "{sourceipaddress}:{port|?} {flag} {nothing|-}"
        category special when port = "22"
        """
        let m = try Mapping(MappingFile(parsing: text, name: "t"))
        var r = MappedRecord(view: m.global)
        var e = Event(timestamp: Timestamp(epochSeconds: 0), category: "", summary: "")
        let fields: [(String, String, MappedRecord.ValueKind)] = [
            ("src", "10.0.0.1", .string), ("port", "22", .string), ("ok", "yes", .string), ("secret", "pw", .string),
            ("long", "abcdef", .string), ("mac", "aa:bb", .string), ("n.a", "1", .raw), ("x_y", "z", .string),
            ("flag", "true", .raw), ("port", "22", .string),
        ]
        for (k, v, kind) in fields {
            let ks = e.bytes.count
            e.bytes += Array(k.utf8)
            let vs = e.bytes.count
            e.bytes += Array(v.utf8)
            let key = Array(k.utf8)
            key.withUnsafeBufferPointer { kb in
                r.add(key: kb, keyStart: ks, value: vs..<e.bytes.count, kind: kind, bytes: &e.bytes)
            }
        }
        r.finish(into: &e)
        e.summaryText = r.top(.summary, bytes: &e.bytes)!
        e.categoryText = r.top(.category, bytes: &e.bytes)!
        let o = try #require(try JSONSerialization.jsonObject(with: Data(e.jsonString.utf8)) as? [String: Any])
        let d = try #require(o["details"] as? [String: Any])
        #expect(d["sourceipaddress"] as? String == "10.0.0.1")
        #expect(d["src"] == nil && d["secret"] == nil)
        #expect(d["port"] as? Int == 22)
        #expect(d["ok"] as? Bool == true)
        #expect(d["long"] as? String == "abc")
        #expect(d["mac"] as? String == "aabb")
        #expect(d["y"] as? String == "z")
        #expect((d["nested"] as? [String: Any])?["a"] as? Int == 1)
        #expect(d["missing"] as? String == "was 10.0.0.1")
        #expect(d["list"] as? [String] == ["10.0.0.1"])
        #expect(o["summary"] as? String == "10.0.0.1:22 True -")
        #expect(o["category"] as? String == "special")
        #expect(o["severity"] as? String == "WARNING")
        // A repeated name keeps one member.
        #expect(e.jsonString.components(separatedBy: "\"port\"").count == 2)
    }

    @Test func directoryOverridesOneFormatAndRefusesUnknownNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mappings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "category firewall\nsummary \"{name}!\"\n".write(to: dir.appendingPathComponent("cef.map"), atomically: true, encoding: .utf8)
        let set = try MappingSet.load(directory: dir.path)
        #expect(set.mapping(.cef).file.name.hasSuffix("cef.map"))
        #expect(set.mapping(.zeek).file.name == "built-in zeek.map")
        var cef = CEFTranslator(mapping: set.mapping(.cef), syslog: SyslogParser(referenceTime: 0))
        let o = try translated(&cef, "CEF:0|v|p|1|sig|Name|3|src=1.2.3.4")
        #expect(o["category"] as? String == "firewall")
        #expect(o["summary"] as? String == "Name!")
        // The override replaces the whole file: no renames unless it says so.
        #expect((o["details"] as? [String: Any])?["src"] as? String == "1.2.3.4")

        try "bogus\n".write(to: dir.appendingPathComponent("cef.map"), atomically: true, encoding: .utf8)
        #expect(throws: MappingFile.Error(file: dir.path + "/cef.map", line: 1, reason: "unknown directive 'bogus'")) {
            try MappingSet.load(directory: dir.path)
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("cef.map"))
        try "".write(to: dir.appendingPathComponent("netflow.map"), atomically: true, encoding: .utf8)
        #expect(throws: MappingFile.Error.self) { try MappingSet.load(directory: dir.path) }
    }
}
