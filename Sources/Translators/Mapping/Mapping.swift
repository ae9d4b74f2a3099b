#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MozDefEvent

/// A mapping file compiled for the record path: every name it mentions is interned
/// (stable bytes, an id), renames and rules are tables indexed by id, templates are
/// pre-split. Built once at start; shared read-only by every record.
public final class Mapping: @unchecked Sendable {
    public let file: MappingFile
    let names: NameTable
    let global: View
    private let sections: [String: View]

    public init(_ file: MappingFile) throws(MappingFile.Error) {
        self.file = file
        let names = NameTable()
        for r in file.rules { Self.intern(r, names) }
        self.names = names
        global = try View(file: file, section: nil, names: names)
        var s: [String: View] = [:]
        for name in Set(file.rules.compactMap(\.section)) {
            s[name] = try View(file: file, section: name, names: names)
        }
        sections = s
        global.freeze()
        for v in s.values { v.freeze() }
    }

    /// The rules for records of this kind (a Zeek log type); the global rules when none.
    public func view(section: String?) -> View {
        section.flatMap { sections[$0] } ?? global
    }

    public var sectionNames: [String] { sections.keys.sorted() }


    static func intern(_ r: MappingFile.Rule, _ t: NameTable) {
        func nameAndParts(_ s: String) {
            _ = t.id(s)
            if let dot = s.firstIndex(of: ".") {
                _ = t.id(String(s[..<dot]))
                _ = t.id(String(s[s.index(after: dot)...]))
            }
        }
        func template(_ tp: MappingFile.Template) { for n in tp.fieldNames { nameAndParts(n) } }
        switch r.directive {
        case .rename(let from, let to, _): _ = t.id(from); nameAndParts(to)
        case .drop(let f, _), .type(let f, _), .truncate(let f, _), .strip(let f, _): _ = t.id(f)
        case .assign(let f, let v, _):
            nameAndParts(f)
            switch v {
            case .template(let tp): template(tp)
            case .list(let l): l.forEach(template)
            case .json: break
            }
        case .top(_, let tp): template(tp)
        case .severity, .tag: break
        }
        if let c = r.condition { nameAndParts(c.field) }
    }
}

/// Interned names: bytes that live as long as the process (keys are written straight
/// from them), looked up by hash.
final class NameTable: @unchecked Sendable {
    struct Name { var pointer: UnsafePointer<UInt8>; var count: Int; var string: String }
    private(set) var names: [Name] = []
    private var pointers: [(pointer: UnsafePointer<UInt8>, count: Int)] = []
    private var slots: [Int32] = Array(repeating: -1, count: 256)
    private var hashes: [UInt64] = []

    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x100000001b3 }
        return h
    }

    func id(_ s: String) -> Int32 {
        var a = Array(s.utf8)
        if let found = a.withUnsafeBufferPointer({ lookup($0.baseAddress!, $0.count) }) { return found }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(a.count, 1))
        a.withUnsafeMutableBufferPointer { b in if b.count > 0 { p.update(from: b.baseAddress!, count: b.count) } }
        let id = Int32(names.count)
        names.append(Name(pointer: UnsafePointer(p), count: a.count, string: s))
        pointers.append((UnsafePointer(p), a.count))
        hashes.append(Self.hash(p, a.count))
        if names.count * 2 > slots.count { rehash(slots.count * 2) } else { insert(id) }
        a.removeAll()
        freeze()  // the lookup tables follow every new name (a few hundred, at start only)
        return id
    }

    private func insert(_ id: Int32) {
        let mask = slots.count - 1
        var k = Int(truncatingIfNeeded: hashes[Int(id)]) & mask
        while slots[k] >= 0 { k = (k + 1) & mask }
        slots[k] = id
    }

    private func rehash(_ n: Int) {
        slots = Array(repeating: -1, count: n)
        for i in 0..<names.count { insert(Int32(i)) }
    }

    /// The tables again as plain memory, refreshed after each new name: lookups read only
    /// these, so the record path pays no reference counting (arrays in a class would).
    private var rawSlots: UnsafeMutablePointer<Int32>?
    private var rawHashes: UnsafeMutablePointer<UInt64>?
    private var rawPointers: UnsafeMutablePointer<(pointer: UnsafePointer<UInt8>, count: Int)>?
    private var rawMask = 0

    func freeze() {
        unfreeze()
        let sl = UnsafeMutablePointer<Int32>.allocate(capacity: slots.count)
        sl.initialize(from: slots, count: slots.count)
        let hs = UnsafeMutablePointer<UInt64>.allocate(capacity: max(hashes.count, 1))
        hs.initialize(from: hashes, count: hashes.count)
        let ps = UnsafeMutablePointer<(pointer: UnsafePointer<UInt8>, count: Int)>.allocate(capacity: max(pointers.count, 1))
        ps.initialize(from: pointers, count: pointers.count)
        rawSlots = sl; rawHashes = hs; rawPointers = ps; rawMask = slots.count - 1
    }

    private func unfreeze() {
        rawSlots?.deallocate(); rawHashes?.deallocate(); rawPointers?.deallocate()
        rawSlots = nil; rawHashes = nil; rawPointers = nil
    }

    deinit { unfreeze() }

    /// The id of these bytes, or nil.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        let h = Self.hash(p, n)
        guard let sl = rawSlots, let hs = rawHashes, let ps = rawPointers else { return nil }  // no names yet
        var k = Int(truncatingIfNeeded: h) & rawMask
        while true {
            let id = sl[k]
            if id < 0 { return nil }
            let i = Int(id)
            if hs[i] == h, ps[i].count == n, memcmp(ps[i].pointer, p, n) == 0 { return id }
            k = (k + 1) & rawMask
        }
    }

    /// The bytes of a name (no String touched).
    @inline(__always) func bytes(_ id: Int32) -> (pointer: UnsafePointer<UInt8>, count: Int) {
        if let ps = rawPointers { return ps[Int(id)] }
        return pointers[Int(id)]
    }

    func lookup(_ s: String) -> Int32? {
        var s = s
        return s.withUTF8 { b in b.baseAddress.flatMap { lookup($0, b.count) } }
    }
}

/// Where a field goes: a name id (nested under `parent` when ≥ 0).
struct OutKey: Equatable {
    var parent: Int32
    var id: Int32
    static let none = OutKey(parent: -1, id: -1)
}

/// A template compiled against the name table.
struct CompiledTemplate {
    enum Part {
        case text([UInt8])
        /// flat: the id of the whole name; nested: parent/child ids when the name has a dot.
        case field(flat: Int32, nested: OutKey, index: Int?, fallback: [UInt8]?)
    }
    var parts: [Part]
    /// The whole template when it has no references: no rendering needed.
    var constant: String?
    /// The one field a "{field}" template names (no index): a text field is used in place.
    var single: (flat: Int32, nested: OutKey)?

    init(_ t: MappingFile.Template, _ names: NameTable) {
        parts = t.parts.map { p in
            switch p {
            case .text(let s): return .text(Array(s.utf8))
            case .field(let n, let index, let fallback):
                var nested = OutKey.none
                if let dot = n.firstIndex(of: ".") {
                    nested = OutKey(parent: names.id(String(n[..<dot])), id: names.id(String(n[n.index(after: dot)...])))
                }
                return .field(flat: names.id(n), nested: nested, index: index, fallback: fallback.map { Array($0.utf8) })
            }
        }
        if t.parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
            constant = t.parts.map { if case .text(let s) = $0 { s } else { "" } }.joined()
        }
        if parts.count == 1, case .field(let flat, let nested, nil, _) = parts[0] { single = (flat, nested) }
    }
}

struct Condition {
    var flat: Int32
    var nested: OutKey
    var test: MappingFile.Condition.Test
    var value: [UInt8]
}

/// The rules that apply to one kind of record: the global ones, then its section's.
public final class View: @unchecked Sendable {
    struct FieldRule {
        var type: MappingFile.FieldType?
        var truncate: Int?
        /// ASCII bytes to remove (a bit set: the rule stays trivially copyable).
        var strip: (UInt64, UInt64)?
    }
    enum AssignValue {
        case json(UnsafePointer<UInt8>, Int)
        case template(CompiledTemplate)
        case list([CompiledTemplate])
    }
    struct Assign {
        var key: OutKey
        var value: AssignValue
        var always: Bool
        var condition: Condition?
    }

    let names: NameTable
    /// Per source name id: where it goes. `.none` keeps it under its own name.
    var target: [OutKey]
    var dropped: [Bool]
    var prefixRenames: [(from: [UInt8], parent: Int32, flat: [UInt8])] = []
    var prefixDrops: [[UInt8]] = []
    /// Per output name id (flat names only).
    var rules: [FieldRule?]
    var assigns: [Assign] = []
    /// Per top-level field (TopField.index): its rules in the order they are tried; empty: none.
    var tops: [[(CompiledTemplate, Condition?)]] = Array(repeating: [], count: MappingFile.TopField.allCases.count)
    /// Bit i set: tops[i] has rules (checked per record without touching the arrays).
    private(set) var topMask: UInt8 = 0
    var severities: [(Severity, Condition?)] = []
    public private(set) var tags: [String] = []
    /// target/dropped/rules as plain memory (see NameTable.freeze).
    private(set) var rawTarget: UnsafeMutablePointer<OutKey>!
    private(set) var rawDropped: UnsafeMutablePointer<Bool>!
    private(set) var rawRules: UnsafeMutablePointer<FieldRule?>!
    private(set) var hasPrefixRules = false

    func freeze() {
        rawTarget?.deallocate(); rawDropped?.deallocate(); rawRules?.deallocate()
        rawTarget = .allocate(capacity: max(target.count, 1))
        rawTarget.initialize(from: target, count: target.count)
        rawDropped = .allocate(capacity: max(dropped.count, 1))
        rawDropped.initialize(from: dropped, count: dropped.count)
        rawRules = .allocate(capacity: max(rules.count, 1))
        rawRules.initialize(from: rules, count: rules.count)
        hasPrefixRules = !prefixDrops.isEmpty || !prefixRenames.isEmpty
    }

    deinit {
        rawTarget?.deallocate(); rawDropped?.deallocate(); rawRules?.deallocate()
    }

    init(file: MappingFile, section: String?, names: NameTable) throws(MappingFile.Error) {
        self.names = names
        let n = names.names.count
        target = Array(repeating: .none, count: n)
        dropped = Array(repeating: false, count: n)
        rules = Array(repeating: nil, count: n)
        // Global rules first, then the section's: a section's rename or rule wins.
        let applicable = file.rules.filter { $0.section == nil } + (section.map { s in file.rules.filter { $0.section == s } } ?? [])
        var topRules: [MappingFile.TopField: [(CompiledTemplate, Condition?, Bool)]] = [:]
        var sevRules: [(Severity, Condition?, Bool)] = []
        var sectionPrefixRenames = 0, sectionPrefixDrops = 0
        for r in applicable {
            let inSection = r.section != nil
            let cond = r.condition.map { c in Self.condition(c, names) }
            switch r.directive {
            case .rename(let from, let to, let prefix):
                if prefix {
                    // "a.*" → nested under a; "ab*" → flat names that start with ab.
                    // A section's prefix rules are tried before the global ones.
                    let rule = to.hasSuffix(".") ? (Array(from.utf8), names.id(String(to.dropLast())), [UInt8]())
                                                 : (Array(from.utf8), Int32(-1), Array(to.utf8))
                    prefixRenames.insert(rule, at: inSection ? sectionPrefixRenames : prefixRenames.count)
                    if inSection { sectionPrefixRenames += 1 }
                } else {
                    let t = Self.outKey(to, names)
                    target[Int(names.id(from))] = t
                }
            case .drop(let f, let prefix):
                if prefix {
                    prefixDrops.insert(Array(f.utf8), at: inSection ? sectionPrefixDrops : prefixDrops.count)
                    if inSection { sectionPrefixDrops += 1 }
                } else {
                    dropped[Int(names.id(f))] = true
                }
            case .type(let f, let t):
                let i = Int(names.id(f))
                rules[i] = rules[i] ?? FieldRule()
                rules[i]!.type = t
            case .truncate(let f, let k):
                let i = Int(names.id(f))
                rules[i] = rules[i] ?? FieldRule()
                rules[i]!.truncate = k
            case .strip(let f, let chars):
                let i = Int(names.id(f))
                rules[i] = rules[i] ?? FieldRule()
                var set: (UInt64, UInt64) = (0, 0)
                for c in chars.utf8 where c < 128 { if c < 64 { set.0 |= 1 << UInt64(c) } else { set.1 |= 1 << UInt64(c - 64) } }
                rules[i]!.strip = set
            case .assign(let f, let v, let always):
                let value: AssignValue
                switch v {
                case .json(let j):
                    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: j.utf8.count)
                    _ = UnsafeMutableBufferPointer(start: p, count: j.utf8.count).initialize(from: j.utf8)
                    value = .json(UnsafePointer(p), j.utf8.count)
                case .template(let t): value = .template(CompiledTemplate(t, names))
                case .list(let l): value = .list(l.map { CompiledTemplate($0, names) })
                }
                assigns.append(Assign(key: Self.outKey(f, names), value: value, always: always, condition: cond))
            case .top(let f, let t):
                topRules[f, default: []].append((CompiledTemplate(t, names), cond, inSection))
            case .severity(let s):
                sevRules.append((Severity(name: s)!, cond, inSection))
            case .tag(let t):
                if !tags.contains(t) { tags.append(t) }
            }
        }
        // The first rule that applies wins: a section's before the global ones, and within
        // each, rules with a condition before those without (in file order).
        func ordered<T>(_ list: [(T, Condition?, Bool)]) -> [(T, Condition?)] {
            let groups = [list.filter { $0.2 && $0.1 != nil }, list.filter { $0.2 && $0.1 == nil },
                          list.filter { !$0.2 && $0.1 != nil }, list.filter { !$0.2 && $0.1 == nil }]
            return groups.flatMap { $0.map { ($0.0, $0.1) } }
        }
        for (f, list) in topRules { tops[f.index] = ordered(list) }
        for (i, rules) in tops.enumerated() where !rules.isEmpty { topMask |= 1 << UInt8(i) }
        severities = ordered(sevRules)
    }

    static func outKey(_ name: String, _ names: NameTable) -> OutKey {
        if let dot = name.firstIndex(of: ".") {
            return OutKey(parent: names.id(String(name[..<dot])), id: names.id(String(name[name.index(after: dot)...])))
        }
        return OutKey(parent: -1, id: names.id(name))
    }

    static func condition(_ c: MappingFile.Condition, _ names: NameTable) -> Condition {
        var nested = OutKey.none
        if let dot = c.field.firstIndex(of: ".") {
            nested = OutKey(parent: names.id(String(c.field[..<dot])), id: names.id(String(c.field[c.field.index(after: dot)...])))
        }
        var v: [UInt8] = []
        switch c.test {
        case .equals(let s), .notEquals(let s): v = Array(s.utf8)
        default: break
        }
        return Condition(flat: names.id(c.field), nested: nested, test: c.test, value: v)
    }

    /// The name id of a source key, if the mapping knows it.
    @inline(__always) func id(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        names.lookup(p, n)
    }

    /// Where a source key goes, worked out once (for keys that repeat record after
    /// record: Zeek columns). `stable` holds the key's bytes for as long as the events
    /// need them; `intern` keeps a derived name (a prefix rename) just as long.
    public func resolve(_ key: UnsafeBufferPointer<UInt8>, stable: UnsafePointer<UInt8>,
                        intern: ([UInt8]) -> UnsafePointer<UInt8>) -> ResolvedKey {
        var r = ResolvedKey(out: .none, keyPointer: stable, keyCount: UInt32(key.count), dropped: false, rule: nil)
        var exact = false
        if let base = key.baseAddress, let id = self.id(base, key.count) {
            if dropped[Int(id)] { r.dropped = true; return r }
            let t = target[Int(id)]
            r.out = t == .none ? OutKey(parent: -1, id: id) : t
            exact = t != .none
        }
        if !exact, let base = key.baseAddress {
            for d in prefixDrops where d.count <= key.count && memcmp(base, d, d.count) == 0 { r.dropped = true; return r }
            for p in prefixRenames where p.from.count <= key.count && memcmp(base, p.from, p.from.count) == 0 {
                let rest = UnsafeBufferPointer(rebasing: key[p.from.count...])
                if p.parent >= 0 {
                    r.out = OutKey(parent: p.parent, id: rest.baseAddress.flatMap { self.id($0, rest.count) } ?? -1)
                    r.keyPointer = stable + p.from.count
                    r.keyCount = UInt32(rest.count)
                } else {
                    let name = p.flat + Array(rest)
                    let id = name.withUnsafeBufferPointer { self.id($0.baseAddress!, $0.count) }
                    r.out = OutKey(parent: -1, id: id ?? -1)
                    r.keyPointer = intern(name)
                    r.keyCount = UInt32(name.count)
                }
                break
            }
        }
        if r.out.parent < 0, r.out.id >= 0 { r.rule = rules[Int(r.out.id)] }
        if r.out.id >= 0 {
            // The output name's own bytes: written without a table lookup per record.
            let n = names.bytes(r.out.id)
            r.keyPointer = n.pointer
            r.keyCount = UInt32(n.count)
        }
        return r
    }
}

/// A source key's destination, resolved ahead of the records (see View.resolve).
public struct ResolvedKey: @unchecked Sendable {
    var out: OutKey
    /// The key's bytes when the mapping does not name it (plain JSON text).
    var keyPointer: UnsafePointer<UInt8>?
    var keyCount: UInt32
    public var dropped: Bool
    /// Where the key is in the event's bytes when `keyPointer` is nil.
    var keyStart: UInt32 = 0
    /// False for a cached key the cache cannot serve (see KeyCache.resolve).
    var usable = true
    /// The translator's own label for the source key (KeyCache's classifier), 0 by default.
    public var tag: UInt8 = 0
    var rule: View.FieldRule?
}

extension MappingFile.TopField {
    @inline(__always) var index: Int {
        switch self {
        case .summary: 0
        case .category: 1
        case .hostname: 2
        case .processname: 3
        case .processid: 4
        case .source: 5
        }
    }
}


/// Source keys resolved once and remembered (CEF extension keys, JSON member names
/// repeat record after record): a hash of the raw key bytes to its ResolvedKey.
/// Keys and derived names are copied into memory the cache owns, so events can point
/// to them. Bounded: past `limit` keys, resolution is not remembered.
public final class KeyCache: @unchecked Sendable {
    public let view: View
    let transform: Transform
    let limit: Int
    private var slots: UnsafeMutablePointer<Int32>
    private var mask: Int
    private var entries: [(hash: UInt64, key: UnsafePointer<UInt8>, count: Int, resolved: ResolvedKey)] = []
    private var rawEntries: UnsafeMutablePointer<(hash: UInt64, key: UnsafePointer<UInt8>, count: Int, resolved: ResolvedKey)>
    private var capacity: Int
    private var blocks: [UnsafeMutablePointer<UInt8>] = []

    public enum Transform: Sendable {
        /// The key as it is.
        case none
        /// Lowercased when the mapping does not know it as written (CEF).
        case lowercaseUnknown
        /// Always lowercased (CloudTrail).
        case lowercase
    }

    /// Labels a source key for the translator (CEF: which keys carry times), once per key.
    let classify: @Sendable (UnsafeBufferPointer<UInt8>) -> UInt8

    public init(view: View, transform: Transform, limit: Int = 4096,
                classify: @escaping @Sendable (UnsafeBufferPointer<UInt8>) -> UInt8 = { _ in 0 }) {
        self.view = view
        self.transform = transform
        self.limit = limit
        self.classify = classify
        capacity = 64
        mask = 255
        slots = .allocate(capacity: 256)
        slots.initialize(repeating: -1, count: 256)
        rawEntries = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
        rawEntries.deallocate()
        for b in blocks { b.deallocate() }
    }

    private func keep(_ b: [UInt8]) -> UnsafePointer<UInt8> {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(b.count, 1))
        b.withUnsafeBufferPointer { if let s = $0.baseAddress { p.update(from: s, count: b.count) } }
        blocks.append(p)
        return UnsafePointer(p)
    }

    /// The resolution of `key`, from the cache or worked out now; nil past the limit or for a
    /// key that would need JSON escaping (the caller then adds it the general way, and
    /// classifies it itself).
    @inline(__always) public func resolve(_ key: UnsafeBufferPointer<UInt8>) -> ResolvedKey? {
        guard let base = key.baseAddress else { return nil }
        let h = NameTable.hash(base, key.count)
        var k = Int(truncatingIfNeeded: h) & mask
        while true {
            let i = slots[k]
            if i < 0 { break }
            let e = rawEntries[Int(i)]
            if e.hash == h, e.count == key.count, memcmp(e.key, base, key.count) == 0 { return e.resolved.usable ? e.resolved : nil }
            k = (k + 1) & mask
        }
        guard entries.count < limit else { return nil }
        let r = insert(key, hash: h, slot: k)
        return r.usable ? r : nil
    }

    private func insert(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64, slot k: Int) -> ResolvedKey {
        let raw = Array(key)
        var name = raw
        var resolved: ResolvedKey
        switch transform {
        case .none: break
        case .lowercase: name = raw.map { $0 &- 65 < 26 ? $0 | 0x20 : $0 }
        case .lowercaseUnknown:
            if raw.withUnsafeBufferPointer({ view.id($0.baseAddress!, $0.count) }) == nil {
                name = raw.map { $0 &- 65 < 26 ? $0 | 0x20 : $0 }
            }
        }
        let stable = keep(name)
        resolved = name.withUnsafeBufferPointer { view.resolve($0, stable: stable, intern: keep) }
        // A name that would need JSON escaping is not written from here: leave it to the caller.
        if name.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { resolved.usable = false }
        resolved.tag = raw.withUnsafeBufferPointer { classify($0) }
        let stored = keep(raw)
        if entries.count == capacity {
            let n = capacity * 2
            let fresh = UnsafeMutablePointer<(hash: UInt64, key: UnsafePointer<UInt8>, count: Int, resolved: ResolvedKey)>.allocate(capacity: n)
            fresh.initialize(from: rawEntries, count: entries.count)
            rawEntries.deallocate()
            rawEntries = fresh
            capacity = n
        }
        let index = entries.count
        let entry = (hash: h, key: stored, count: raw.count, resolved: resolved)
        entries.append(entry)
        (rawEntries + index).initialize(to: entry)
        slots[k] = Int32(index)
        if entries.count * 2 > mask + 1 { rehash() }
        return resolved
    }

    private func rehash() {
        let n = (mask + 1) * 2
        slots.deallocate()
        slots = .allocate(capacity: n)
        slots.initialize(repeating: -1, count: n)
        mask = n - 1
        for (i, e) in entries.enumerated() {
            var k = Int(truncatingIfNeeded: e.hash) & mask
            while slots[k] >= 0 { k = (k + 1) & mask }
            slots[k] = Int32(i)
        }
    }
}
