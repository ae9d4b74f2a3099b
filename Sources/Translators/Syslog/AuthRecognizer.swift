import MozDefEvent

/// Recognises authentication events in sshd, sudo, su, login and pam_unix
/// messages, as MozDef's "what should I log" asks: success and failure,
/// with who, from where and how. Anything not recognised is left alone.
enum AuthRecognizer {
    /// Fields are appended straight into the event's details (no intermediate array).
    struct Result {
        var category: String = "authentication"
        var details: JSONObject
        mutating func add(_ k: String, _ v: JSONValue) { details.append(k, v) }
    }

    /// Appends the event's fields to `details` and returns its category,
    /// or returns nil and leaves `details` as it was.
    static func recognize(program: String, message: String, details: inout JSONObject) -> String? {
        var program = program
        var message = message
        var r = Result(details: JSONObject())
        swap(&r.details, &details)  // move, so appends do not copy the storage
        defer { swap(&r.details, &details) }
        let mark = r.details.count
        let ok = program.withUTF8 { prog in
            message.withUTF8 { msg in
                recognize(program: prog, message: msg, into: &r)
            }
        }
        if !ok { r.details.members.removeSubrange(mark...) }
        return ok ? r.category : nil
    }

    private static func eq(_ p: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard p.count == s.utf8CodeUnitCount else { return false }
        var sc = ByteScanner(p)
        return sc.eat(s)
    }

    static func recognize(program: UnsafeBufferPointer<UInt8>, message: UnsafeBufferPointer<UInt8>, into r: inout Result) -> Bool {
        var s = ByteScanner(message)
        var repeated: Int64?
        // rsyslog's duplicate suppression wraps the original: "message repeated 3 times: [ ... ]"
        if s.eat("message repeated ") {
            let n = s.word()
            guard let count = s.int(n), s.eat(" times: [") else { return false }
            s.skipSpaces()
            repeated = count
            var end = message.count
            if end > s.i, message[end - 1] == UInt8(ascii: "]") { end -= 1 }
            if end > s.i, message[end - 1] == 0x20 { end -= 1 }
            s = ByteScanner(UnsafeBufferPointer(rebasing: message[..<end]), at: s.i)
        }
        var ok = false
        if s.peek("pam_unix(") {
            ok = pamUnix(&s, &r)
        } else if eq(program, "sshd") {
            ok = sshd(&s, &r)
        } else if eq(program, "sudo") {
            ok = sudo(&s, &r)
        } else if eq(program, "su") {
            ok = su(&s, &r)
        } else if eq(program, "login") {
            ok = login(&s, &r)
        }
        if ok, let repeated { r.add("repeated", .int(repeated)) }
        return ok
    }

    // MARK: sshd

    private static func addFrom(_ s: ByteScanner, ip: Range<Int>, port: Range<Int>?, to r: inout Result) {
        if s.isIP(ip) {
            r.add("sourceipaddress", .string(s.string(ip)))
        } else if !ip.isEmpty {
            r.add("sourcehostname", .string(s.string(ip)))  // sshd with UseDNS logs names
        }
        if let port, let n = s.int(port) { r.add("sourceport", .int(n)) }
    }

    /// "<user> from <ip> port <port>" (user may be empty: "Invalid user  from ...").
    private static func userFromIPPort(_ s: inout ByteScanner, into r: inout Result) -> Bool {
        guard let user = s.upTo(" from ") else { return false }
        r.add("username", .string(s.string(user)))
        let ip = s.word()
        var port: Range<Int>?
        if s.eat(" port ") { port = s.word() }
        addFrom(s, ip: ip, port: port, to: &r)
        return true
    }

    /// "[invalid |authenticating ]user <user> <ip> port <port>" or "<ip> port <port>".
    private static func userIPPort(_ s: inout ByteScanner, into r: inout Result) {
        if s.eat("invalid user ") {
            r.add("invaliduser", true)
        } else {
            _ = s.eat("authenticating user ")
            _ = s.eat("user ")
        }
        let first = s.word()
        s.skipSpaces()
        if s.peek("port ") {  // no user: first word was the address
            _ = s.eat("port ")
            addFrom(s, ip: first, port: s.word(), to: &r)
            return
        }
        r.add("username", .string(s.string(first)))
        let ip = s.word()
        var port: Range<Int>?
        if s.eat(" port ") { port = s.word() }
        addFrom(s, ip: ip, port: port, to: &r)
    }

    private static func sshd(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        if s.eat("Accepted ") {
            let method = s.word()
            guard s.eat(" for ") else { return false }
            r.add("action", "accepted")
            r.add("success", true)
            r.add("authmethod", .string(s.string(method)))
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Failed ") {
            let method = s.word()
            guard s.eat(" for ") else { return false }
            r.add("action", "failed")
            r.add("success", false)
            r.add("authmethod", .string(s.string(method)))
            if s.eat("invalid user ") { r.add("invaliduser", true) }
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Invalid user ") {
            r.add("action", "invalid user")
            r.add("success", false)
            r.add("invaliduser", true)
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("error: maximum authentication attempts exceeded for ") {
            r.add("action", "max attempts exceeded")
            r.add("success", false)
            if s.eat("invalid user ") { r.add("invaliduser", true) }
            return userFromIPPort(&s, into: &r)
        }
        if s.eat("Disconnected from ") {
            r.add("action", "disconnect")
            userIPPort(&s, into: &r)
            return true
        }
        if s.eat("Connection closed by ") || s.eat("Connection reset by ") {
            r.add("action", "disconnect")
            userIPPort(&s, into: &r)
            return true
        }
        if s.eat("Received disconnect from ") {
            r.add("action", "disconnect")
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
        return pamUnixBody(&s, service: s.string(service), &r)
    }

    /// The part after "pam_unix(svc:type): ", also written as "sshd(pam_unix)[pid]: ..." by old PAM.
    static func pamUnixBody(service svc: String, message: String, details: inout JSONObject) -> String? {
        var m = message
        var r = Result(details: JSONObject())
        swap(&r.details, &details)
        defer { swap(&r.details, &details) }
        let mark = r.details.count
        let ok = m.withUTF8 { p in
            var s = ByteScanner(p)
            return pamUnixBody(&s, service: svc, &r)
        }
        if !ok { r.details.members.removeSubrange(mark...) }
        return ok ? r.category : nil
    }

    private static func pamUnixBody(_ s: inout ByteScanner, service svc: String, _ r: inout Result) -> Bool {
        // Scheduled jobs and user managers open sessions all day: not logins.
        if svc == "cron" || svc == "systemd-user" || svc == "CRON" { return false }
        r.add("service", .string(svc))
        if s.eat("authentication failure;") {
            r.add("action", "failed")
            r.add("success", false)
            // key=value pairs; "user" is the account being authenticated.
            var rhost: String?, user: String?, logname: String?
            while !s.atEnd {
                s.skipSpaces()
                let w = s.word()
                guard let eqAt = s.p[w].firstIndex(of: UInt8(ascii: "=")) else { continue }
                let k = s.string(w.lowerBound..<eqAt)
                let v = s.string((eqAt + 1)..<w.upperBound)
                guard !v.isEmpty else { continue }
                switch k {
                case "rhost": rhost = v
                case "user": user = v
                case "logname": logname = v
                default: break
                }
            }
            if let user { r.add("username", .string(user)) }
            if let logname { r.add("logname", .string(logname)) }
            if let rhost {
                var h = rhost
                let isIP = h.withUTF8 { ByteScanner($0).isIP(0..<$0.count) }
                r.add(isIP ? "sourceipaddress" : "sourcehostname", .string(rhost))
            }
            return true
        }
        if s.eat("session opened for user ") {
            r.add("action", "session opened")
            r.add("success", true)
            sessionUsers(&s, into: &r)
            return true
        }
        if s.eat("session closed for user ") {
            r.add("action", "session closed")
            sessionUsers(&s, into: &r)
            return true
        }
        if s.eat("check pass; user unknown") {
            r.add("action", "failed")
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
        r.add("username", .string(s.string(w.lowerBound..<e)))
        if s.eat(" by ") {
            let b = s.word()
            var be = b.lowerBound
            while be < b.upperBound, s.p[be] != UInt8(ascii: "(") { be += 1 }
            if be > b.lowerBound { r.add("byuser", .string(s.string(b.lowerBound..<be))) }
        }
    }

    // MARK: sudo

    /// "alice : [reason ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"
    private static func sudo(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        s.skipSpaces()
        guard let user = s.upTo(" : ") else { return false }
        r.add("username", .string(s.string(user)))
        var reason: String?
        var fields: [(String, String)] = []
        while !s.atEnd {
            let part = s.upTo(" ; ") ?? {
                let start = s.i
                s.i = s.p.count
                return start..<s.p.count
            }()
            if let eqAt = s.p[part].firstIndex(of: UInt8(ascii: "=")),
               s.p[part.lowerBound..<eqAt].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
                fields.append((s.string(part.lowerBound..<eqAt).lowercased(), s.string((eqAt + 1)..<part.upperBound)))
            } else if reason == nil {
                reason = s.string(part)
            }
        }
        guard fields.contains(where: { $0.0 == "command" || $0.0 == "tty" }) || reason != nil else { return false }
        if let reason {
            r.add("action", .string(reason))
            r.add("success", false)
            r.add("error", true)
            // Policy refusals are authorization failures; bad passwords are authentication ones.
            if reason.contains("NOT in sudoers") || reason.contains("not allowed") || reason.contains("NOT allowed") {
                r.category = "authorization"
            }
        } else {
            r.add("action", "sudo")
            r.add("success", true)
        }
        for (k, v) in fields {
            switch k {
            case "user": r.add("targetuser", .string(v))
            case "command", "tty", "pwd": r.add(k, .string(v))
            default: r.add("sudo" + k, .string(v))
            }
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
            r.add("action", "su")
            r.add("success", .bool(!failed))
            r.add("username", .string(s.string(user)))
            r.add("targetuser", .string(s.string(target)))
            if s.eat(" on ") { r.add("tty", .string(s.string(s.word()))) }
            return true
        }
        if s.eat("Successful su for ") || (failed && s.eat("for ")) {
            // "Successful su for root by alice"
            let target = s.word()
            guard s.eat(" by ") else { return false }
            r.add("action", "su")
            r.add("success", .bool(!failed))
            r.add("username", .string(s.string(s.word())))
            r.add("targetuser", .string(s.string(target)))
            return true
        }
        if s.eat("'su ") {
            // RFC 3164's own example: "'su root' failed for lonvick on /dev/pts/8"
            guard let target = s.upTo("' failed for ") else { return false }
            r.add("action", "su")
            r.add("success", false)
            r.add("username", .string(s.string(s.word())))
            r.add("targetuser", .string(s.string(target)))
            if s.eat(" on ") { r.add("tty", .string(s.string(s.word()))) }
            return true
        }
        if s.eat("pam_authenticate: Authentication failure") {
            r.add("action", "su")
            r.add("success", false)
            return true
        }
        if s.eat("+ ") || s.eat("- ") {
            // classic sulog form: "+ pts/2 alice:root"
            let ok = s.p[s.i - 2] == UInt8(ascii: "+")
            let tty = s.word()
            guard s.eat(" "), let user = s.upTo(":") else { return false }
            r.add("action", "su")
            r.add("success", .bool(ok))
            r.add("username", .string(s.string(user)))
            r.add("targetuser", .string(s.string(s.word())))
            r.add("tty", .string(s.string(tty)))
            return true
        }
        return false
    }

    // MARK: login

    private static func login(_ s: inout ByteScanner, _ r: inout Result) -> Bool {
        if s.eat("FAILED LOGIN ") {
            // "FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure"
            // "FAILED LOGIN 1 FROM host FOR user, Authentication failure"
            r.add("action", "failed")
            r.add("success", false)
            if let tty = s.find(" on '", from: s.i) {
                var t = ByteScanner(s.p, at: tty + 5)
                if let v = t.upTo("'") { r.add("tty", .string(s.string(v))) }
            }
            if let from = s.find(" FROM ", from: s.i) {
                var t = ByteScanner(s.p, at: from + 6)
                let h = t.word()
                addFrom(t, ip: h, port: nil, to: &r)
            }
            if let forAt = s.find(" FOR ", from: s.i) {
                var t = ByteScanner(s.p, at: forAt + 5)
                let quoted = t.eat("'")
                if let u = quoted ? t.upTo("'") : t.upTo(",") { r.add("username", .string(s.string(u))) }
            }
            return true
        }
        if s.eat("ROOT LOGIN ") {
            r.add("action", "login")
            r.add("success", true)
            r.add("username", "root")
            if let tty = s.find("on '", from: s.i) {
                var t = ByteScanner(s.p, at: tty + 4)
                if let v = t.upTo("'") { r.add("tty", .string(s.string(v))) }
            }
            return true
        }
        if s.eat("LOGIN ON ") {
            // "LOGIN ON tty1 BY bob"
            let tty = s.word()
            guard s.eat(" BY ") else { return false }
            r.add("action", "login")
            r.add("success", true)
            r.add("username", .string(s.string(s.word())))
            r.add("tty", .string(s.string(tty)))
            return true
        }
        return false
    }
}
