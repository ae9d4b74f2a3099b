import MozDefEvent

/// Recognises authentication events in sshd, sudo, su, login and pam_unix
/// messages, as MozDef's "what should I log" asks: success and failure,
/// with who, from where and how. Anything not recognised is left alone.
///
/// Works on the event's bytes: values are appended to the details as slices.
enum AuthRecognizer {
    struct Result {
        var category: StaticString = "authentication"
        var details: [DetailField]
        /// Fields whose keys are neither literals nor slices (rare: sudo's extra fields).
        var extra: [(String, Range<Int>)] = []
        @inline(__always) mutating func add(_ k: StaticString, slice r: Range<Int>) { details.append(.slice(k, r)) }
        @inline(__always) mutating func add(_ k: StaticString, literal v: StaticString) { details.append(.literal(k, v)) }
        @inline(__always) mutating func add(_ k: StaticString, _ v: Bool) { details.append(.bool(k, v)) }
        @inline(__always) mutating func add(_ k: StaticString, int v: Int64) { details.append(.int(k, v)) }
    }

    /// Appends the event's fields to `details` and returns its category, or returns
    /// nil and leaves `details` as it was. `program` and `message` are ranges of `bytes`.
    /// `extra` receives fields with computed keys, as (key, value range).
    static func recognize(bytes: UnsafeBufferPointer<UInt8>, program: Range<Int>, message: Range<Int>,
                          pamService: Bool, details: inout [DetailField],
                          extra: inout [(String, Range<Int>)]) -> StaticString? {
        var r = Result(details: [])
        swap(&r.details, &details)  // move, so appends do not copy the storage
        defer { swap(&r.details, &details) }
        let mark = r.details.count
        // A prefix of `bytes` keeps absolute indices, so ranges found are ranges of `bytes`.
        var s = ByteScanner(UnsafeBufferPointer(rebasing: bytes[..<message.upperBound]), at: message.lowerBound)
        let ok = pamService ? pamUnixBody(&s, service: program, &r) : recognize(program: program, &s, into: &r)
        if !ok {
            r.details.removeSubrange(mark...)
            return nil
        }
        extra = r.extra
        return r.category
    }

    private static func eq(_ s: ByteScanner, _ r: Range<Int>, _ lit: StaticString) -> Bool {
        guard r.count == lit.utf8CodeUnitCount else { return false }
        return ByteScanner(s.p, at: r.lowerBound).peek(lit)
    }

    private static func recognize(program: Range<Int>, _ s: inout ByteScanner, into r: inout Result) -> Bool {
        var repeated: Int64?
        // rsyslog's duplicate suppression wraps the original: "message repeated 3 times: [ ... ]"
        if s.eat("message repeated ") {
            let n = s.word()
            guard let count = s.int(n), s.eat(" times: [") else { return false }
            s.skipSpaces()
            repeated = count
            var end = s.p.count
            if end > s.i, s.p[end - 1] == UInt8(ascii: "]") { end -= 1 }
            if end > s.i, s.p[end - 1] == 0x20 { end -= 1 }
            s = ByteScanner(UnsafeBufferPointer(rebasing: s.p[..<end]), at: s.i)
        }
        var ok = false
        if s.peek("pam_unix(") {
            ok = pamUnix(&s, &r)
        } else if eq(s, program, "sshd") || eq(s, program, "sshd-session") {  // OpenSSH 9.8+ logs auth as sshd-session
            ok = sshd(&s, &r)
        } else if eq(s, program, "sudo") {
            ok = sudo(&s, &r)
        } else if eq(s, program, "su") {
            ok = su(&s, &r)
        } else if eq(s, program, "login") {
            ok = login(&s, &r)
        }
        if ok, let repeated { r.add("repeated", int: repeated) }
        return ok
    }

    // MARK: sshd

    private static func addFrom(_ s: ByteScanner, ip: Range<Int>, port: Range<Int>?, to r: inout Result) {
        if s.isIP(ip) {
            r.add("sourceipaddress", slice: ip)
        } else if !ip.isEmpty {
            r.add("sourcehostname", slice: ip)  // sshd with UseDNS logs names
        }
        if let port, let n = s.int(port) { r.add("sourceport", int: n) }
    }

    /// sshd ends these messages with "<ip> port <port>" and then only its own text
    /// (protocol, key fingerprint, "[preauth]"); the user name before them is chosen by
    /// the client and may contain anything, " from " and " port " included. So the
    /// address is found from the right: the word before the last " port ".
    private static func addressFromRight(_ s: ByteScanner) -> (ip: Range<Int>, port: Range<Int>)? {
        guard let portAt = s.findLast(" port ", from: s.i) else { return nil }
        var ipStart = portAt
        while ipStart > s.i, s.p[ipStart - 1] != 0x20 { ipStart -= 1 }
        var portEnd = portAt + 6
        while portEnd < s.p.count, s.p[portEnd] &- 48 < 10 { portEnd += 1 }
        return (ipStart..<portAt, (portAt + 6)..<portEnd)
    }

    /// "<user> from <ip> port <port>..." (user may be empty: "Invalid user  from ...").
    private static func userFromIPPort(_ s: inout ByteScanner, into r: inout Result) -> Bool {
        if let a = addressFromRight(s), a.ip.lowerBound - 6 >= s.i,
           ByteScanner(s.p, at: a.ip.lowerBound - 6).peek(" from ") {
            r.add("username", slice: s.i..<(a.ip.lowerBound - 6))
            addFrom(s, ip: a.ip, port: a.port, to: &r)
            s.i = a.port.upperBound
            return true
        }
        // Older sshd: "<user> from <ip>" without a port.
        guard let fromAt = s.findLast(" from ", from: s.i) else { return false }
        r.add("username", slice: s.i..<fromAt)
        s.i = fromAt + 6
        addFrom(s, ip: s.word(), port: nil, to: &r)
        return true
    }

    /// "[invalid |authenticating ]user <user> <ip> port <port>" or "<ip> port <port>".
    private static func userIPPort(_ s: inout ByteScanner, into r: inout Result) {
        if s.eat("invalid user ") {
            r.add("invaliduser", true)
        } else if !s.eat("authenticating user ") {
            _ = s.eat("user ")
        }
        guard let a = addressFromRight(s) else { return }
        if a.ip.lowerBound - 1 > s.i {  // a user name precedes the address
            r.add("username", slice: s.i..<(a.ip.lowerBound - 1))
        }
        addFrom(s, ip: a.ip, port: a.port, to: &r)
        s.i = a.port.upperBound
    }

    private static func sshd(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        if s.eat("Accepted ") {
            let method = s.word()
            guard s.eat(" for ") else { return false }
            r.add("action", literal: "accepted")
            r.add("success", true)
            r.add("authmethod", slice: method)
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Failed ") {
            let method = s.word()
            guard s.eat(" for ") else { return false }
            r.add("action", literal: "failed")
            r.add("success", false)
            r.add("authmethod", slice: method)
            if s.eat("invalid user ") { r.add("invaliduser", true) }
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Invalid user ") {
            r.add("action", literal: "invalid user")
            r.add("success", false)
            r.add("invaliduser", true)
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("error: maximum authentication attempts exceeded for ") {
            r.add("action", literal: "max attempts exceeded")
            r.add("success", false)
            if s.eat("invalid user ") { r.add("invaliduser", true) }
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Disconnected from ") || s.eat("Connection closed by ") || s.eat("Connection reset by ") {
            r.add("action", literal: "disconnect")
            userIPPort(&s, into: &r)
            return true
        }
        if s.eat("Received disconnect from ") {
            r.add("action", literal: "disconnect")
            let ip = s.word()
            var port: Range<Int>?
            if s.eat(" port ") {
                let w = s.word()
                var e = w.lowerBound
                while e < w.upperBound, s.p[e] != UInt8(ascii: ":") { e += 1 }
                port = w.lowerBound..<e
            }
            addFrom(s, ip: ip, port: port, to: &r)
            return true
        }
        return false
    }

    // MARK: pam_unix

    /// "pam_unix(<service>:<type>): ..." from any program.
    private static func pamUnix(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        guard s.eat("pam_unix("), let service = s.upTo(":") else { return false }
        guard s.upTo("): ") != nil else { return false }
        return pamUnixBody(&s, service: service, &r)
    }

    /// The part after "pam_unix(svc:type): ", also written as "sshd(pam_unix)[pid]: ..." by old PAM.
    private static func pamUnixBody(_ s: inout ByteScanner, service svc: Range<Int>, _ r: inout Result) -> Bool {
        // Scheduled jobs and user managers open sessions all day: not logins.
        if eq(s, svc, "cron") || eq(s, svc, "CRON") || eq(s, svc, "systemd-user") { return false }
        r.add("service", slice: svc)
        if s.eat("authentication failure;") {
            r.add("action", literal: "failed")
            r.add("success", false)
            // key=value pairs; "user" is the account being authenticated.
            var rhost: Range<Int>?, user: Range<Int>?, logname: Range<Int>?
            while !s.atEnd {
                s.skipSpaces()
                let w = s.word()
                var eqAt = w.lowerBound
                while eqAt < w.upperBound, s.p[eqAt] != UInt8(ascii: "=") { eqAt += 1 }
                guard eqAt < w.upperBound, eqAt + 1 < w.upperBound else { continue }
                let k = w.lowerBound..<eqAt, v = (eqAt + 1)..<w.upperBound
                if eq(s, k, "rhost") { rhost = v } else if eq(s, k, "user") { user = v } else if eq(s, k, "logname") { logname = v }
            }
            if let user { r.add("username", slice: user) }
            if let logname { r.add("logname", slice: logname) }
            if let rhost { r.add(s.isIP(rhost) ? "sourceipaddress" : "sourcehostname", slice: rhost) }
            return true
        }
        if s.eat("session opened for user ") {
            r.add("action", literal: "session opened")
            r.add("success", true)
            sessionUsers(&s, into: &r)
            return true
        }
        if s.eat("session closed for user ") {
            r.add("action", literal: "session closed")
            sessionUsers(&s, into: &r)
            return true
        }
        if s.eat("check pass; user unknown") {
            r.add("action", literal: "failed")
            r.add("success", false)
            r.add("invaliduser", true)
            return true
        }
        return false
    }

    /// "alice(uid=1000) by bob(uid=1000)" / "alice by (uid=0)".
    private static func sessionUsers(_ s: inout ByteScanner, into r: inout Result) {
        let w = s.word()
        var e = w.lowerBound
        while e < w.upperBound, s.p[e] != UInt8(ascii: "(") { e += 1 }
        r.add("username", slice: w.lowerBound..<e)
        if s.eat(" by ") {
            let b = s.word()
            var be = b.lowerBound
            while be < b.upperBound, s.p[be] != UInt8(ascii: "(") { be += 1 }
            if be > b.lowerBound { r.add("byuser", slice: b.lowerBound..<be) }
        }
    }

    // MARK: sudo

    /// "alice : [reason ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"
    private static func sudo(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        s.skipSpaces()
        guard let user = s.upTo(" : ") else { return false }
        r.add("username", slice: user)
        var reason: Range<Int>?
        var fields: [(key: Range<Int>, value: Range<Int>)] = []
        // COMMAND= is last and runs to the end: a command may itself contain " ; ".
        let commandAt = s.find("COMMAND=", from: s.i)
        let partsEnd = commandAt ?? s.p.count
        while s.i < partsEnd {
            var part: Range<Int>
            if let sep = s.find(" ; ", from: s.i), sep < partsEnd {
                part = s.i..<sep
                s.i = sep + 3
            } else {
                part = s.i..<partsEnd
                s.i = partsEnd
            }
            if part.upperBound > part.lowerBound, s.p[part.upperBound - 1] == 0x20 { part = part.lowerBound..<(part.upperBound - 1) }
            var eqAt = part.lowerBound
            while eqAt < part.upperBound, s.p[eqAt] >= UInt8(ascii: "A"), s.p[eqAt] <= UInt8(ascii: "Z") { eqAt += 1 }
            if eqAt > part.lowerBound, eqAt < part.upperBound, s.p[eqAt] == UInt8(ascii: "=") {
                fields.append((part.lowerBound..<eqAt, (eqAt + 1)..<part.upperBound))
            } else if reason == nil && fields.isEmpty {
                reason = part  // only before the first KEY=VALUE part
            }
        }
        if let c = commandAt {
            fields.append((c..<(c + 7), (c + 8)..<s.p.count))
            s.i = s.p.count
        }
        guard reason != nil || fields.contains(where: { eq(s, $0.key, "COMMAND") || eq(s, $0.key, "TTY") }) else { return false }
        if let reason {
            r.add("action", slice: reason)
            r.add("success", false)
            r.add("error", true)
            // Policy refusals are authorization failures; bad passwords are authentication ones.
            if s.contains("NOT in sudoers", in: reason) || s.contains("not allowed", in: reason)
                || s.contains("NOT allowed", in: reason) {
                r.category = "authorization"
            }
        } else {
            r.add("action", literal: "sudo")
            r.add("success", true)
        }
        for f in fields {
            if eq(s, f.key, "USER") { r.add("targetuser", slice: f.value) }
            else if eq(s, f.key, "COMMAND") { r.add("command", slice: f.value) }
            else if eq(s, f.key, "TTY") { r.add("tty", slice: f.value) }
            else if eq(s, f.key, "PWD") { r.add("pwd", slice: f.value) }
            else { r.extra.append(("sudo" + s.string(f.key).lowercased(), f.value)) }
        }
        return true
    }

    // MARK: su

    private static func su(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        var failed = false
        if s.eat("FAILED SU ") || s.eat("FAILED su ") { failed = true }
        if s.eat("(to ") {
            // "(to root) alice on pts/2"
            guard let target = s.upTo(") ") else { return false }
            let user = s.word()
            r.add("action", literal: "su")
            r.add("success", !failed)
            r.add("username", slice: user)
            r.add("targetuser", slice: target)
            if s.eat(" on ") { r.add("tty", slice: s.word()) }
            return true
        }
        if s.eat("Successful su for ") || (failed && s.eat("for ")) {
            // "Successful su for root by alice"
            let target = s.word()
            guard s.eat(" by ") else { return false }
            r.add("action", literal: "su")
            r.add("success", !failed)
            r.add("username", slice: s.word())
            r.add("targetuser", slice: target)
            return true
        }
        if s.eat("'su ") {
            // RFC 3164's own example: "'su root' failed for lonvick on /dev/pts/8"
            guard let target = s.upTo("' failed for ") else { return false }
            r.add("action", literal: "su")
            r.add("success", false)
            r.add("username", slice: s.word())
            r.add("targetuser", slice: target)
            if s.eat(" on ") { r.add("tty", slice: s.word()) }
            return true
        }
        if s.eat("pam_authenticate: Authentication failure") {
            r.add("action", literal: "su")
            r.add("success", false)
            return true
        }
        if s.eat("+ ") || s.eat("- ") {
            // classic sulog form: "+ pts/2 alice:root"
            let ok = s.p[s.i - 2] == UInt8(ascii: "+")
            let tty = s.word()
            guard s.eat(" "), let user = s.upTo(":") else { return false }
            r.add("action", literal: "su")
            r.add("success", ok)
            r.add("username", slice: user)
            r.add("targetuser", slice: s.word())
            r.add("tty", slice: tty)
            return true
        }
        return false
    }

    // MARK: login

    private static func login(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        if s.eat("FAILED LOGIN ") {
            // "FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure"
            // "FAILED LOGIN 1 FROM host FOR user, Authentication failure"
            r.add("action", literal: "failed")
            r.add("success", false)
            if let tty = s.find(" on '", from: s.i) {
                var t = ByteScanner(s.p, at: tty + 5)
                if let v = t.upTo("'") { r.add("tty", slice: v) }
            }
            if let from = s.find(" FROM ", from: s.i) {
                var t = ByteScanner(s.p, at: from + 6)
                let h = t.word()
                addFrom(t, ip: h, port: nil, to: &r)
            }
            if let forAt = s.find(" FOR ", from: s.i) {
                var t = ByteScanner(s.p, at: forAt + 5)
                let quoted = t.eat("'")
                if let u = quoted ? t.upTo("'") : t.upTo(",") { r.add("username", slice: u) }
            }
            return true
        }
        if s.eat("ROOT LOGIN ") {
            r.add("action", literal: "login")
            r.add("success", true)
            r.add("username", literal: "root")
            if let tty = s.find("on '", from: s.i) {
                var t = ByteScanner(s.p, at: tty + 4)
                if let v = t.upTo("'") { r.add("tty", slice: v) }
            }
            return true
        }
        if s.eat("LOGIN ON ") {
            // "LOGIN ON tty1 BY bob"
            let tty = s.word()
            guard s.eat(" BY ") else { return false }
            r.add("action", literal: "login")
            r.add("success", true)
            r.add("username", slice: s.word())
            r.add("tty", slice: tty)
            return true
        }
        return false
    }
}
