import Foundation
import MozDefEvent
@testable import Translators

/// Runs a translator on one record and returns the event as parsed JSON.
func translated<T: Translator>(_ t: inout T, _ record: [UInt8], source: String = "test",
                               received: Timestamp = Timestamp(epochSeconds: 1_795_910_400)) throws -> [String: Any] {
    var e = Event(timestamp: received, category: "", summary: "")
    let ctx = RecordContext(source: source, received: received)
    try record.withUnsafeBufferPointer { p throws(TranslationError) in try t.translate(p, context: ctx, into: &e) }
    var w = JSONWriter(capacity: 1024)
    w.event(e)
    let data = Data(w.bytes)
    guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw TranslationError("not an object: \(String(decoding: data, as: UTF8.self))")
    }
    return o
}

func translated<T: Translator>(_ t: inout T, _ record: String) throws -> [String: Any] {
    try translated(&t, Array(record.utf8))
}

let builtinMappings = MappingSet.builtin()

/// Loose JSON equality for corpus comparisons (numbers by value).
func jsonEqual(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (is NSNull, is NSNull): return true
    case let (x as NSNumber, y as NSNumber):
        let xb = isBool(x), yb = isBool(y)
        if xb || yb { return xb == yb && x.boolValue == y.boolValue }
        return x.doubleValue == y.doubleValue
    case let (x as String, y as String): return x == y
    case let (x as [Any], y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
    case let (x as [String: Any], y as [String: Any]):
        return x.count == y.count && x.allSatisfy { k, v in y[k] != nil && jsonEqual(v, y[k]) }
    default: return false
    }
}

func describe(_ v: Any?) -> String {
    guard let v else { return "nil" }
    if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
        return String(decoding: d, as: UTF8.self)
    }
    return "\(v)"
}

func isBool(_ n: NSNumber) -> Bool {
    let t = String(cString: n.objCType)
    return t == "c" || t == "B"
}
