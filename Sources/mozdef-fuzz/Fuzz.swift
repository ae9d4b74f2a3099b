import Foundation
import Inputs
import MozDefEvent
import Receiver
import Translators

/// One harness for every parser, for libFuzzer (`make fuzz`: built with
/// `-sanitize=fuzzer,address -DFUZZING`, the target named by MOZDEF_FUZZ_TARGET) and, built
/// normally, a replayer of saved inputs (`mozdef-fuzz TARGET FILE...`), which the regression
/// tests run.
///
/// Besides "no crash, no sanitizer report", each target checks what must hold for any input:
/// every event a translator makes writes as JSON that reads back as an object with MozDef's
/// required fields, and the receiver answers every body with a status it documents.
enum FuzzTarget: String, CaseIterable {
    case syslog, cef, zeekTSV = "zeek-tsv", zeekJSON = "zeek-json", gelf, gelfChunks = "gelf-chunks"
    case cloudtrail, json, receiver, bulk, query
}

/// A store that takes everything at once: the receiver's parsing is what is fuzzed.
final class NullStore: EventStore, @unchecked Sendable {
    func insert(_ docs: [StoredEvent], done: @escaping @Sendable (Error?) -> Void) { done(nil) }
    func events(since: Int64?, limit: Int, match: @Sendable (JSONObject) -> Bool) throws -> (total: Int, events: [JSONObject]) { (0, []) }
    func expire(before: Int64) throws -> Int { 0 }
    func window(since: Int64, unusedBy rule: String?) throws -> [(id: Int64, doc: JSONObject)] { [] }
    func insertAlert(_ alert: JSONObject, utc: Int64, rule: String, events: [Int64], unlessAlertSince: Int64?) throws -> Int64? { nil }
    func lastAlert(rule: String) throws -> Int64? { nil }
    func alerts(since: Int64?, limit: Int) throws -> (total: Int, alerts: [JSONObject]) { (0, []) }
    func leads() -> Bool { true }
    func duplicatesSkipped() -> Int { 0 }
}

enum Harness {
    static let mappings = MappingSet.builtin()
    static let now = Timestamp.parseISO8601("2026-11-29T00:00:00Z")!.timestamp
    static let context = RecordContext(source: "fuzz", received: now)
    static let parser = SyslogParser(strict: false, referenceTime: now.epochSeconds)
    static let ingest = Ingest(store: NullStore(), normalizer: Normalizer(mozdefHostname: "fuzz"), metrics: Metrics())
    /// What every event mozdef-ship writes has (the receiver's normalizer adds the rest).
    static let required = ["timestamp", "utctimestamp", "category", "summary", "tags", "details"]

    /// The lines of `data` (without their line feeds).
    static func lines(_ data: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var s = 0
        while s < data.count {
            var e = s
            while e < data.count && data[e] != 0x0A { e += 1 }
            body(UnsafeBufferPointer(rebasing: data[s..<e]))
            s = e + 1
        }
    }

    /// The event must write as JSON that reads back with MozDef's required fields.
    static func check(_ e: Event) {
        var w = JSONWriter(capacity: 1024)
        w.event(e)
        w.withBytes { (b: UnsafeRawBufferPointer) in
            let bytes = b.bindMemory(to: UInt8.self)
            guard case .object(let o)? = try? JSONReader.parse(bytes) else {
                fatalError("an event wrote invalid JSON: \(String(decoding: bytes, as: UTF8.self))")
            }
            for k in required where o[k] == nil {
                fatalError("an event lacks \(k): \(String(decoding: bytes, as: UTF8.self))")
            }
            guard let u = o["utctimestamp"]?.stringValue, Timestamp.parseISO8601(u) != nil else {
                fatalError("an event's utctimestamp is not a time: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    static func translateLines<T: Translator>(_ t: inout T, _ data: UnsafeBufferPointer<UInt8>) {
        var e = Event(timestamp: now, category: "", summary: "")
        lines(data) { line in
            do throws(TranslationError) {
                try t.translate(line, context: context, into: &e)
                check(e)
            } catch {
                check(unparsedEvent(line, context: context, format: "fuzz", error: error))
            }
        }
    }

    static func run(_ target: FuzzTarget, _ data: UnsafeBufferPointer<UInt8>) {
        switch target {
        case .syslog:
            var t = SyslogTranslator(parser: parser, mapping: mappings.mapping(.syslog))
            translateLines(&t, data)
        case .cef:
            var t = CEFTranslator(mapping: mappings.mapping(.cef), syslog: parser)
            translateLines(&t, data)
        case .zeekTSV, .zeekJSON:
            var t = ZeekTranslator(mapping: mappings.mapping(.zeek), defaultPath: "conn")
            translateLines(&t, data)
        case .gelf:
            var t = GELFTranslator(mapping: mappings.mapping(.gelf), strict: false)
            translateLines(&t, data)
        case .gelfChunks:
            // Datagrams framed by a 2-byte length; each complete message is decompressed and
            // translated.
            let assembler = GELFAssembler(timeout: 5, maxPayloadBytes: 1 << 20)
            var t = GELFTranslator(mapping: mappings.mapping(.gelf), strict: false)
            var i = 0
            var clock = 0.0
            while i + 2 <= data.count {
                let n = Int(data[i]) << 8 | Int(data[i + 1])
                let d = Array(data[(i + 2)..<min(data.count, i + 2 + n)])
                i += 2 + n
                clock += 0.5
                guard let whole = try? assembler.feed(d, now: clock),
                      let payload = try? GELFPayload.decode(whole, limit: 1 << 20) else { continue }
                payload.withUnsafeBufferPointer { translateLines(&t, $0) }
            }
            _ = assembler.expire(now: clock + 10)
        case .cloudtrail:
            var splitter = RecordSplitter()
            splitter.maxRecord = 1 << 20
            splitter.feed(data, newline: true)
            var t = CloudTrailTranslator(mapping: mappings.mapping(.cloudtrail))
            var e = Event(timestamp: now, category: "", summary: "")
            while true {
                guard let r = try? splitter.next() else { break }
                do throws(TranslationError) {
                    try t.translate(r, context: context, into: &e)
                    check(e)
                } catch {
                    check(unparsedEvent(r, context: context, format: "cloudtrail", error: error))
                }
            }
        case .json:
            if let v = try? JSONReader.parse(data) {
                // What reads must write and read back the same.
                var w = JSONWriter(capacity: 1024)
                w.value(v)
                let again = w.bytes.withUnsafeBufferPointer { try? JSONReader.parse($0) }
                if again != v { fatalError("JSON did not read back the same") }
            }
        case .receiver, .bulk:
            let body = Array(data)
            let route: Ingest.Route = target == .bulk ? .bulk : .events
            let answered = Answered()
            ingest.handle(route, body: body, now: now) { r in
                if ![200, 400, 413].contains(r.status) { fatalError("status \(r.status) for a request body") }
                if let j = r.json, (try? JSONReader.parse(j)) == nil { fatalError("an answer that is not JSON: \(j)") }
                answered.done = true
            }
            if !answered.done { fatalError("no answer") }
        case .query:
            let text = String(decoding: data, as: UTF8.self)
            if let q = try? EventQuery(text) {
                _ = q.matches(JSONObject(members: [.init(key: "summary", value: "failed password for root"),
                                                   .init(key: "details", value: .object(JSONObject(members: [.init(key: "x", value: 1)])))]))
            }
        }
    }
}

final class Answered: @unchecked Sendable { var done = false }

nonisolated(unsafe) var selected: FuzzTarget = .syslog

#if FUZZING
/// libFuzzer's entry points, for when the linker takes libFuzzer's own main.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
    selectTarget()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Harness.run(selected, UnsafeBufferPointer(start: data, count: size))
    return 0
}

/// The target named by MOZDEF_FUZZ_TARGET.
func selectTarget() {
    let name = ProcessInfo.processInfo.environment["MOZDEF_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("MOZDEF_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
        exit(2)
    }
    selected = t
}

/// libFuzzer's driver (LLVM 11 and later), called from main: SwiftPM gives an executable its
/// own entry point, so libFuzzer's main is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

@main
enum Main {
    static func main() {
        #if FUZZING
        selectTarget()
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv) { data, size in
            Harness.run(selected, UnsafeBufferPointer(start: data, count: size))
            return 0
        })
        #else
        // Replays saved inputs: mozdef-fuzz TARGET FILE...
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: mozdef-fuzz TARGET FILE...   (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")))")
            exit(2)
        }
        for path in args.dropFirst() {
            guard let d = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                exit(1)
            }
            Array(d).withUnsafeBufferPointer { Harness.run(target, $0) }
            print("\(path): ok")
        }
        #endif
    }
}
