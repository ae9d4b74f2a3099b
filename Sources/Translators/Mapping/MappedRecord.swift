#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MozDefEvent

/// One record's fields on their way through a mapping view into an event's details.
///
/// Translators add source fields (keys and values are ranges of the event's bytes, or
/// interned names); `add` applies renames, drops and per-field rules at once, and
/// `finish` runs set/default rules, the top-level templates and writes the details.
/// The storage is reused record after record.
public struct MappedRecord: @unchecked Sendable {  // pointers refer to the immortal mapping tables
    struct Field {
        var key: OutKey
        /// The key's bytes in the event when `key.id` < 0.
        var keyStart: UInt32 = 0, keyCount: UInt32 = 0
        /// A translator's own (static) key name, when the mapping does not know it.
        var keyPointer: UnsafePointer<UInt8>? = nil
        var kind: Kind
        var a: UInt32 = 0, b: UInt32 = 0
        var pointer: UnsafePointer<UInt8>?
    }
    enum Kind: UInt8 { case string, raw, removed }

    /// Fields and slots live in plain memory (no copy-on-write checks or retains on the
    /// per-field path). `reset` gives a copied record storage of its own before any write.
    var store: Store
    var scratch: [UInt8] = []
    public private(set) var view: View
    var generation: UInt64 = 1

    /// The fields added so far, in order.
    var fields: UnsafeMutableBufferPointer<Field> { UnsafeMutableBufferPointer(start: store.fields, count: store.count) }

    final class Store: @unchecked Sendable {  // one record's use at a time (see reset)
        var fields: UnsafeMutablePointer<Field>
        var count = 0
        var capacity: Int
        /// Per flat name id: generation << 32 | index + 1 of its field in this record, so a
        /// repeated name is found without a search.
        var slots: UnsafeMutablePointer<UInt64>
        var slotCount: Int

        init(capacity: Int = 32, slots: Int = 0) {
            self.capacity = capacity
            fields = .allocate(capacity: capacity)
            slotCount = slots
            self.slots = .allocate(capacity: max(slots, 1))
            self.slots.initialize(repeating: 0, count: max(slots, 1))
        }

        deinit {
            fields.deallocate()
            slots.deallocate()
        }

        /// Stand-in storage while a translator's record is out (see take); never written.
        static let placeholder = Store(capacity: 1)

        @inline(__always) func append(_ f: Field) {
            if count == capacity { grow() }
            (fields + count).initialize(to: f)
            count += 1
        }

        func grow() {
            let n = capacity * 2
            let fresh = UnsafeMutablePointer<Field>.allocate(capacity: n)
            fresh.moveInitialize(from: fields, count: count)
            fields.deallocate()
            fields = fresh
            capacity = n
        }

        /// Room for slot `id` (new slots are 0: no field in any generation).
        func growSlots(to n: Int) {
            let fresh = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
            fresh.moveInitialize(from: slots, count: slotCount)
            (fresh + slotCount).initialize(repeating: 0, count: n - slotCount)
            slots.deallocate()
            slots = fresh
            slotCount = n
        }
    }

    public init(view: View) {
        self.view = view
        store = Store()
    }

    private init(placeholder view: View) {
        self.view = view
        store = .placeholder
    }

    /// The translator's record storage, moved out for one record and reset to `view`
    /// (put it back when done: its buffers are reused).
    public static func take(_ slot: inout MappedRecord, view: View) -> MappedRecord {
        var r = MappedRecord(placeholder: view)
        swap(&r, &slot)
        r.reset(view: view)
        return r
    }

    public mutating func reset(view: View) {
        if self.view !== view { self.view = view }
        // A copied record (or the placeholder) shares storage: take fresh storage first.
        if !isKnownUniquelyReferenced(&store) || store === Store.placeholder { store = Store() }
        store.count = 0
        // Generation 0 would match the zeroed slots of fresh storage.
        generation &+= 1
        if generation & 0xFFFF_FFFF == 0 { generation &+= 1 }
    }

    /// The kind a value is written as: a raw number a double cannot hold (1e400, from any
    /// source) is written as a string, so every event reads back.
    @inline(__always) static func portable(_ kind: ValueKind, _ value: Range<Int>, _ bytes: [UInt8]) -> Kind {
        guard kind != .string else { return .string }
        guard let c = value.isEmpty ? nil : bytes[value.lowerBound], c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else { return .raw }
        // Short numbers without an exponent, the common case, need no more look.
        if value.count <= 15 && !bytes[value].contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) { return .raw }
        return bytes.withUnsafeBufferPointer { JSONScan.isPortableNumber(UnsafeBufferPointer(rebasing: $0[value])) } ? .raw : .string
    }

    /// Adds a field whose key was resolved ahead (View.resolve).
    @inline(__always) public mutating func add(_ k: ResolvedKey, value: Range<Int>, kind: ValueKind, bytes: inout [UInt8]) {
        if k.dropped { return }
        var f = Field(key: k.out, keyStart: k.keyStart, keyCount: k.keyCount, keyPointer: k.keyPointer,
                      kind: Self.portable(kind, value, bytes), a: UInt32(value.lowerBound), b: UInt32(value.count))
        if let rule = k.rule { apply(rule, to: &f, bytes: &bytes) }
        put(f)
    }

    public enum ValueKind { case string, raw }

    /// Adds a source field. The key is read at `key` (any memory) and, when it is kept
    /// under its own name, written from `bytes[keyStart..<keyStart+key.count]`.
    /// The value is `bytes[value]`: text, or JSON when `kind` is raw.
    /// With `lowercaseUnknown`, a key the mapping does not know is written lowercased.
    public mutating func add(key: UnsafeBufferPointer<UInt8>, keyStart: Int, value: Range<Int>, kind: ValueKind,
                             lowercaseUnknown: Bool = false, prefixRules: Bool = true, bytes: inout [UInt8]) {
        add(key: key, keyStart: keyStart, staticKey: nil, value: value, kind: kind, lowercaseUnknown: lowercaseUnknown,
            prefixRules: prefixRules, bytes: &bytes)
    }

    /// Adds a field under one of the translator's own names (CEF header fields, say).
    public mutating func add(name: StaticString, value: Range<Int>, kind: ValueKind, bytes: inout [UInt8]) {
        add(key: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), keyStart: 0,
            staticKey: name.utf8Start, value: value, kind: kind, lowercaseUnknown: false, bytes: &bytes)
    }

    /// The general form: `staticKey`, when set, is where an unknown key is written from.
    @inline(__always) public mutating func add(key: UnsafeBufferPointer<UInt8>, keyStart: Int, staticKey: UnsafePointer<UInt8>?,
                                               value: Range<Int>, kind: ValueKind, lowercaseUnknown: Bool,
                                               prefixRules: Bool = true, bytes: inout [UInt8]) {
        var out = OutKey.none
        var ks = UInt32(keyStart), kc = UInt32(key.count)
        var id = key.baseAddress.flatMap { view.id($0, key.count) }
        var lowered = false
        if id == nil, lowercaseUnknown, key.contains(where: { $0 &- 65 < 26 }) {
            // Written lowercased, so rules name it lowercased too.
            ks = UInt32(bytes.count)
            for c in key { bytes.append(c &- 65 < 26 ? c | 0x20 : c) }
            lowered = true
            id = bytes.withUnsafeBufferPointer { b in view.id(b.baseAddress! + Int(ks), key.count) }
        }
        var exact = false
        if let id {
            if view.rawDropped[Int(id)] { return }
            let t = view.rawTarget[Int(id)]
            out = t == .none ? OutKey(parent: -1, id: id) : t
            exact = t != .none
        }
        // Prefix rules apply to any name without a rule of its own in this view.
        if !exact, prefixRules, staticKey == nil, key.baseAddress != nil, view.hasPrefixRules {
            let hit: Int? = lowered
                ? bytes.withUnsafeBufferPointer { b in Self.prefixRule(view, UnsafeBufferPointer(rebasing: b[Int(ks)..<Int(ks + kc)])) }
                : Self.prefixRule(view, key)
            if hit == -1 { return }  // a prefix drop
            if let hit, hit >= 0 {
                let r = view.prefixRenames[hit]
                scratch.removeAll(keepingCapacity: true)
                if lowered { scratch.append(contentsOf: bytes[Int(ks)..<Int(ks + kc)]) } else { scratch.append(contentsOf: key) }
                let name = scratch
                let rest = name[r.from.count...]
                if r.parent >= 0 {
                    let childID = rest.withUnsafeBufferPointer { $0.baseAddress.flatMap { view.id($0, rest.count) } }
                    out = OutKey(parent: r.parent, id: childID ?? -1)
                    if lowered || keyStart < 0 {
                        ks = UInt32(bytes.count)
                        bytes.append(contentsOf: rest)
                    } else {
                        ks += UInt32(r.from.count)
                    }
                    kc = UInt32(rest.count)
                } else {
                    // A flat name: the new prefix and the rest, kept in the event's bytes.
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: r.flat)
                    scratch.append(contentsOf: rest)
                    if lowercaseUnknown {
                        for i in scratch.indices where scratch[i] &- 65 < 26 { scratch[i] |= 0x20 }
                    }
                    let newID = scratch.withUnsafeBufferPointer { view.id($0.baseAddress!, $0.count) }
                    out = OutKey(parent: -1, id: newID ?? -1)
                    ks = UInt32(bytes.count)
                    kc = UInt32(scratch.count)
                    bytes.append(contentsOf: scratch)
                }
            }
        }
        var f = Field(key: out, keyStart: ks, keyCount: kc, kind: Self.portable(kind, value, bytes),
                      a: UInt32(value.lowerBound), b: UInt32(value.count))
        if out.id < 0, out.parent < 0, let staticKey { f.keyPointer = staticKey }
        if out.parent < 0, out.id >= 0, let rule = view.rawRules[Int(out.id)] { apply(rule, to: &f, bytes: &bytes) }
        put(f)
    }

    /// -1: a prefix drop applies; an index into prefixRenames; nil: no prefix rule.
    @inline(__always) static func prefixRule(_ view: View, _ name: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = name.baseAddress else { return nil }
        for d in view.prefixDrops where d.count <= name.count && memcmp(base, d, d.count) == 0 { return -1 }
        for (i, r) in view.prefixRenames.enumerated() where r.from.count <= name.count && memcmp(base, r.from, r.from.count) == 0 { return i }
        return nil
    }

    @inline(__always) mutating func put(_ f: Field) {
        if f.key.id >= 0 {
            // A repeated name keeps its first place and its last value.
            if f.key.parent < 0 {
                let id = Int(f.key.id)
                let store = self.store
                if store.slotCount <= id { store.growSlots(to: max(id + 1, view.names.names.count)) }
                let s = store.slots[id]
                if s >> 32 == generation & 0xFFFF_FFFF, let i = Optional(Int(s & 0xFFFF_FFFF) - 1), i < store.count, store.fields[i].key == f.key {
                    store.fields[i] = f
                    return
                }
                store.slots[id] = (generation & 0xFFFF_FFFF) << 32 | UInt64(store.count + 1)
            } else {
                for i in fields.indices where fields[i].key == f.key {
                    fields[i] = f
                    return
                }
            }
        }
        store.append(f)
    }

    mutating func apply(_ rule: View.FieldRule, to f: inout Field, bytes: inout [UInt8]) {
        // Text edits first, then the type: `strip n ","` with `type n int` makes "1,234" a number.
        if let set = rule.strip, f.kind == .string, f.pointer == nil {
            @inline(__always) func drop(_ c: UInt8) -> Bool {
                c < 64 ? set.0 >> UInt64(c) & 1 != 0 : c < 128 ? set.1 >> UInt64(c - 64) & 1 != 0 : false
            }
            scratch.removeAll(keepingCapacity: true)
            for i in Int(f.a)..<Int(f.a + f.b) where !drop(bytes[i]) { scratch.append(bytes[i]) }
            if scratch.count != Int(f.b) {
                f.a = UInt32(bytes.count)
                f.b = UInt32(scratch.count)
                bytes.append(contentsOf: scratch)
            }
        }
        if let n = rule.truncate, f.kind == .string, f.pointer == nil, Int(f.b) > n {
            // Cut at a character boundary: never inside a UTF-8 sequence.
            var end = Int(f.a) + n
            while end > Int(f.a), bytes[end] & 0xC0 == 0x80 { end -= 1 }
            f.b = UInt32(end - Int(f.a))
        }
        if let t = rule.type {
            bytes.withUnsafeBufferPointer { b in
                let v = UnsafeBufferPointer(rebasing: b[Int(f.a)..<Int(f.a + f.b)])
                switch t {
                case .int:
                    if f.kind == .string, Self.isInteger(v) { f.kind = .raw }
                case .float:
                    if f.kind == .string, JSONScan.isPortableNumber(v) { f.kind = .raw }
                case .bool:
                    if let truth = Self.truth(v) {
                        f.kind = .raw
                        f.pointer = truth ? Self.trueText.utf8Start : Self.falseText.utf8Start
                        f.b = truth ? 4 : 5
                    }
                case .string:
                    if f.kind == .raw, f.pointer == nil, v.first != UInt8(ascii: "{"), v.first != UInt8(ascii: "["),
                       v.first != UInt8(ascii: "\""), v.first != UInt8(ascii: "n") {
                        f.kind = .string
                    }
                }
            }
        }
    }

    static let trueText: StaticString = "true"
    static let falseText: StaticString = "false"

    static func isInteger(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        if v.count > 0, v[0] == UInt8(ascii: "-") { i = 1 }
        guard v.count > i, v.count - i <= 18 else { return false }
        if v[i] == UInt8(ascii: "0") && v.count - i > 1 { return false }
        while i < v.count { if v[i] &- 48 >= 10 { return false }; i += 1 }
        return true
    }

    static func truth(_ v: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch v.count {
        case 1:
            switch v[0] | 0x20 {
            case UInt8(ascii: "t"), UInt8(ascii: "y"): return true
            case UInt8(ascii: "f"), UInt8(ascii: "n"): return false
            default: return v[0] == UInt8(ascii: "1") ? true : v[0] == UInt8(ascii: "0") ? false : nil
            }
        case 2, 3, 4, 5:
            var s: UInt64 = 0
            for c in v { s = s << 8 | UInt64(c | 0x20) }
            switch s {
            case 0x7472_7565: return true  // true
            case 0x66_616C_7365: return false  // false
            case 0x796573: return true  // yes
            case 0x6E6F: return false  // no
            default: return nil
            }
        default: return nil
        }
    }

    // MARK: lookups

    func find(_ k: OutKey) -> Int? {
        if k.parent < 0, k.id >= 0 {
            let id = Int(k.id)
            guard id < store.slotCount else { return nil }
            let s = store.slots[id]
            guard s >> 32 == generation & 0xFFFF_FFFF else { return nil }
            let i = Int(s & 0xFFFF_FFFF) - 1
            return i < fields.count && fields[i].key == k && fields[i].kind != .removed ? i : nil
        }
        for i in fields.indices where fields[i].key == k && fields[i].kind != .removed { return i }
        return nil
    }

    func find(flat: Int32, nested: OutKey) -> Int? {
        if let i = find(OutKey(parent: -1, id: flat)) { return i }
        return nested.parent >= 0 ? find(nested) : nil
    }

    /// True when this record has the field (under this flat name).
    public func has(_ name: String) -> Bool {
        has(id: view.names.lookup(name))
    }

    /// `has` for a name looked up ahead (View.names).
    func has(id: Int32?) -> Bool {
        guard let id else { return false }
        return find(OutKey(parent: -1, id: id)) != nil
    }

    /// The text of a field as a summary shows it (MozDef renders values the way Python's str() does:
    /// True, False, None). Appends to `out`; false when the field is absent.
    func render(_ f: Field, index: Int?, bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        let v = f.pointer.map { UnsafeBufferPointer(start: $0, count: Int(f.b)) }
            ?? UnsafeBufferPointer(rebasing: bytes[Int(f.a)..<Int(f.a + f.b)])
        if f.kind == .string {
            guard index == nil else { return false }
            out.append(contentsOf: v)
            return true
        }
        if let index {
            guard v.first == UInt8(ascii: "[") else { return false }
            var i = JSONScan.skipSpace(v, 1)
            var k = 0
            while i < v.count, v[i] != UInt8(ascii: "]") {
                guard let e = JSONScan.valueEnd(v, i) else { return false }
                if k == index {
                    return Self.renderRaw(UnsafeBufferPointer(rebasing: v[i..<e]), into: &out)
                }
                k += 1
                i = JSONScan.skipSpace(v, e)
                if i < v.count, v[i] == UInt8(ascii: ",") { i = JSONScan.skipSpace(v, i + 1) }
            }
            return false
        }
        return Self.renderRaw(v, into: &out)
    }

    static func renderRaw(_ v: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        // Raw values are valid JSON: the first byte tells true, false, null and strings apart.
        switch v.first {
        case UInt8(ascii: "t"): out.append(contentsOf: "True".utf8)
        case UInt8(ascii: "f"): out.append(contentsOf: "False".utf8)
        case UInt8(ascii: "n"): out.append(contentsOf: "None".utf8)
        case UInt8(ascii: "\""): JSONScan.unescape(v, 1..<(v.count - 1), into: &out)
        default: out.append(contentsOf: v)
        }
        return true
    }

    /// Renders a template into `out`; returns how many references were found.
    func render(_ t: CompiledTemplate, bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> (found: Int, refs: Int) {
        var found = 0, refs = 0
        for p in t.parts {
            switch p {
            case .text(let s): out.append(contentsOf: s)
            case .field(let flat, let nested, let index, let fallback):
                refs += 1
                if let i = find(flat: flat, nested: nested), render(fields[i], index: index, bytes: bytes, into: &out) {
                    found += 1
                } else if let fallback {
                    out.append(contentsOf: fallback)
                }
            }
        }
        return (found, refs)
    }

    func holds(_ c: Condition, bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let i = find(flat: c.flat, nested: c.nested)
        switch c.test {
        case .present: return i != nil
        case .absent: return i == nil
        case .equals, .notEquals, .ipv4, .ipv6:
            var equality: Bool?  // true: equals, false: not equals
            if case .equals = c.test { equality = true } else if case .notEquals = c.test { equality = false }
            if let i, let equality, fields[i].kind == .string, fields[i].pointer == nil {
                // A text field compares in place (no copy: conditions run for every record).
                let f = fields[i]
                let same = Int(f.b) == c.value.count && c.value.withUnsafeBufferPointer { w in
                    w.isEmpty || memcmp(bytes.baseAddress! + Int(f.a), w.baseAddress!, w.count) == 0
                }
                return equality == same
            }
            var text: [UInt8] = []
            if let i { _ = render(fields[i], index: nil, bytes: bytes, into: &text) }
            switch c.test {
            case .equals: return i != nil && text == c.value
            case .notEquals: return i == nil || text != c.value
            case .ipv4: return i != nil && Self.isIPv4(text)
            default: return i != nil && text.contains(UInt8(ascii: ":")) && text.allSatisfy { $0 == 58 || $0 == 46 || $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 6 }
            }
        }
    }

    static func isIPv4(_ t: [UInt8]) -> Bool {
        var parts = 0, digits = 0, value = 0
        for c in t {
            if c == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                parts += 1; digits = 0; value = 0
            } else if c &- 48 < 10 {
                digits += 1; value = value * 10 + Int(c - 48)
                guard digits <= 3, value <= 255 else { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    // MARK: finishing

    /// Runs the set/default rules, then writes the fields as the event's details
    /// (flat ones in order, then each nested object). Top-level fields come from `top`.
    public mutating func finish(into e: inout Event) {
        if !view.assigns.isEmpty { runAssigns(&e.bytes) }
        for (sev, c) in view.severities {
            if let c, !e.bytes.withUnsafeBufferPointer({ holds(c, bytes: $0) }) { continue }
            e.severity = sev
            break
        }
        var details: [DetailField] = []
        swap(&details, &e.detailFields)
        details.removeAll(keepingCapacity: true)
        details.reserveCapacity(fields.count + 2)
        let names = view.names
        var parents: [Int32] = []
        for f in fields where f.kind != .removed {
            if f.key.parent >= 0 {
                if !parents.contains(f.key.parent) { parents.append(f.key.parent) }
                continue
            }
            details.append(Self.detail(f, names))
        }
        for p in parents {
            let pn = names.bytes(p)
            details.append(DetailField(kind: .objectStart, keyPointer: pn.pointer, keyCount: UInt32(pn.count)))
            for f in fields where f.kind != .removed && f.key.parent == p { details.append(Self.detail(f, names)) }
            details.append(.objectEnd)
        }
        e.detailFields = details
    }

    @inline(__always) static func detail(_ f: Field, _ names: NameTable) -> DetailField {
        let kind: DetailField.Kind = f.kind == .string ? .slice : .raw
        if let kp = f.keyPointer {  // resolved ahead (the output name's bytes)
            return DetailField(kind: kind, keyPointer: kp, keyCount: f.keyCount, valuePointer: f.pointer, a: f.a, b: f.b)
        }
        if f.key.id >= 0 {
            let n = names.bytes(f.key.id)
            return DetailField(kind: kind, keyPointer: n.pointer, keyCount: UInt32(n.count), valuePointer: f.pointer, a: f.a, b: f.b)
        }
        return DetailField(kind: kind, keyPointer: f.keyPointer, keyStart: f.keyStart, keyCount: f.keyCount, valuePointer: f.pointer, a: f.a, b: f.b)
    }

    mutating func runAssigns(_ bytes: inout [UInt8]) {
        for a in view.assigns {
            let existing = find(a.key)
            if !a.always, existing != nil { continue }
            if let c = a.condition, !bytes.withUnsafeBufferPointer({ holds(c, bytes: $0) }) { continue }
            var f = Field(key: a.key, kind: .raw)
            switch a.value {
            case .json(let p, let n):
                f.pointer = p
                f.b = UInt32(n)
            case .template(let t):
                scratch.removeAll(keepingCapacity: true)
                _ = bytes.withUnsafeBufferPointer { render(t, bytes: $0, into: &scratch) }
                f.kind = .string
                f.a = UInt32(bytes.count)
                f.b = UInt32(scratch.count)
                bytes.append(contentsOf: scratch)
            case .list(let ts):
                var json: [UInt8] = [UInt8(ascii: "[")]
                for t in ts {
                    scratch.removeAll(keepingCapacity: true)
                    let (found, refs) = bytes.withUnsafeBufferPointer { render(t, bytes: $0, into: &scratch) }
                    if refs > 0 && found == 0 { continue }  // an item whose fields are all absent is left out
                    if json.count > 1 { json.append(UInt8(ascii: ",")) }
                    var w = JSONWriter(capacity: scratch.count * 6 + 16)
                    scratch.withUnsafeBufferPointer { w.string(bytes: $0) }
                    json.append(contentsOf: w.bytes)
                }
                json.append(UInt8(ascii: "]"))
                f.a = UInt32(bytes.count)
                f.b = UInt32(json.count)
                bytes.append(contentsOf: json)
            }
            if let i = existing { fields[i] = f } else { put(f) }
        }
    }

    /// Writes the details, then the top-level fields the mapping has rules for, over the
    /// translator's own values (set before this call), and the mapping's tags.
    public mutating func complete(_ e: inout Event) {
        finish(into: &e)
        let mask = view.topMask
        @inline(__always) func has(_ f: MappingFile.TopField) -> Bool { mask >> UInt8(f.index) & 1 != 0 }
        if has(.category), let v = top(.category, bytes: &e.bytes) { e.categoryText = v }
        if has(.summary), let v = top(.summary, bytes: &e.bytes) { e.summaryText = v }
        if has(.hostname), let v = top(.hostname, bytes: &e.bytes) { e.hostnameText = v }
        if has(.processname), let v = top(.processname, bytes: &e.bytes) { e.processnameText = v }
        if has(.processid), let v = top(.processid, bytes: &e.bytes) { e.processidText = v }
        if has(.source), let v = top(.source, bytes: &e.bytes) { e.sourceText = v }
        e.tags = view.tags
    }

    /// The text of a top-level field from the first rule that applies, as a range of
    /// the event's bytes (or a constant); nil when no rule applies.
    public mutating func top(_ which: MappingFile.TopField, bytes: inout [UInt8]) -> Text? {
        let rules = view.tops[which.index]
        if rules.isEmpty { return nil }
        for (t, c) in rules {
            if let c, !bytes.withUnsafeBufferPointer({ holds(c, bytes: $0) }) { continue }
            if let k = t.constant { return .string(k) }
            // "{field}" alone, a text field: its own bytes, no copy.
            if let (flat, nested) = t.single, let i = find(flat: flat, nested: nested),
               fields[i].kind == .string, fields[i].pointer == nil {
                return .slice(start: fields[i].a, count: fields[i].b)
            }
            scratch.removeAll(keepingCapacity: true)
            _ = bytes.withUnsafeBufferPointer { render(t, bytes: $0, into: &scratch) }
            let start = bytes.count
            bytes.append(contentsOf: scratch)
            return .slice(start..<bytes.count)
        }
        return nil
    }
}
