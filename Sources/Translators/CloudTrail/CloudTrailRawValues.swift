#if canImport(Glibc)
import Glibc
#endif
import CFastPath
import MozDefEvent

/// MozDef's `cloudtrail` plugin: CloudTrail keys whose type varies from event to event
/// (an object here, a string there) would break Elasticsearch's mapping, so their
/// values are stored as `{"raw_value": "<the value as JSON text>"}`; and
/// requestparameters.htmlpart is cut to 4095 characters. Paths and the text form
/// (Python's json.dumps: ", " and ": " separators, non-ASCII as \uXXXX) as in
/// mozilla/MozDef mq/plugins/cloudtrail.py. Works on the compact, lowercased JSON text
/// the translator made (valid JSON), byte by byte.
enum CloudTrailRawValues {
    /// Paths inside requestparameters / responseelements.
    static let requestPathNames: [[StaticString]] = [
        ["attribute"], ["callerreference"], ["description"], ["disableapitermination"], ["domainname"],
        ["domainnames"], ["ebsoptimized"], ["filter"], ["iaminstanceprofile"], ["instancetype"],
        ["logstreamname"], ["rule"], ["source"],
    ]
    static let responsePathNames: [[StaticString]] = [
        ["distribution", "distributionconfig", "callerreference"], ["endpoint"],
        ["findings", "service", "additionalinfo", "unusual"], ["lastmodified"], ["role"],
        ["securitygroups"], ["subnets"],
    ]
    static let requestPaths = requestPathNames.map(bytes)
    static let responsePaths = responsePathNames.map(bytes)
    static func bytes(_ path: [StaticString]) -> [[UInt8]] {
        path.map { Array(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) }
    }
    static let htmlpart = Array("htmlpart".utf8)
    static let htmlpartLimit = 4095

    enum Kind { case request, response }

    /// The new value (compact JSON) for requestparameters or responseelements `v` (compact
    /// JSON), or nil when nothing changes. The translator calls it only when one of the
    /// object's own keys starts a path (or is htmlpart).
    static func rewrite(_ kind: Kind, _ v: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard v.first == UInt8(ascii: "{") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(v.count + 64)
        let changed = rewrite(v, paths: kind == .request ? requestPaths : responsePaths, depth: 0,
                              htmlpart: kind == .request, into: &out)
        return changed ? out : nil
    }

    /// Copies the object `v`, wrapping the members the paths name; true when one was.
    static func rewrite(_ v: UnsafeBufferPointer<UInt8>, paths: [[[UInt8]]], depth: Int, htmlpart: Bool,
                        into out: inout [UInt8]) -> Bool {
        guard let base = v.baseAddress else { return false }
        var changed = false
        var i = 1
        out.append(UInt8(ascii: "{"))
        var first = true
        while i < v.count, v[i] != UInt8(ascii: "}") {
            if v[i] == UInt8(ascii: ",") { i += 1; continue }
            // "key":value
            let ke = mds_json_skip(base, v.count, i)
            let key = UnsafeBufferPointer(rebasing: v[(i + 1)..<(ke - 1)])
            let vs = ke + 1
            let ve = mds_json_skip(base, v.count, vs)
            let value = UnsafeBufferPointer(rebasing: v[vs..<ve])
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: v[i..<vs])  // "key":
            var done = false
            for p in paths where p.count > depth && key.elementsEqual(p[depth]) {
                if p.count == depth + 1 {
                    wrap(value, into: &out)
                    done = true
                } else if value.first == UInt8(ascii: "{") {
                    let deeper = paths.filter { $0.count > depth + 1 && $0[depth] == p[depth] }
                    var inner: [UInt8] = []
                    if rewrite(value, paths: deeper, depth: depth + 1, htmlpart: false, into: &inner) {
                        out.append(contentsOf: inner)
                        done = true
                    }
                }
                if done { changed = true }
                break
            }
            if !done, htmlpart, depth == 0, key.elementsEqual(Self.htmlpart), value.first == UInt8(ascii: "\""),
               let cut = truncated(value) {
                out.append(contentsOf: cut)
                done = true
                changed = true
            }
            if !done { out.append(contentsOf: value) }
            i = ve
        }
        out.append(UInt8(ascii: "}"))
        return changed
    }

    /// `{"raw_value":"<json.dumps of v>"}`.
    static func wrap(_ v: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let start = out.count
        let room = 14 * v.count + 32
        out.append(contentsOf: repeatElement(0, count: room))
        let n = out.withUnsafeMutableBufferPointer { mds_raw_value($0.baseAddress! + start, v.baseAddress!, v.count) }
        out.removeLast(room - n)
    }

    /// A string value cut to `htmlpartLimit` characters, or nil when it is not longer.
    static func truncated(_ v: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var body: [UInt8] = []
        JSONScan.unescape(v, 1..<(v.count - 1), into: &body)
        var scalars = 0, end = 0
        while end < body.count {
            if scalars == htmlpartLimit { break }
            let b = body[end]
            end += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
            scalars += 1
        }
        guard end < body.count else { return nil }
        var w = JSONWriter(capacity: end * 6 + 16)
        body.withUnsafeBufferPointer { w.string(bytes: UnsafeBufferPointer(rebasing: $0[..<end])) }
        return w.bytes
    }
}
