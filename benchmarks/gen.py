#!/usr/bin/env python3
"""Generate deterministic benchmark inputs for mozdef-ship.

    gen.py rfc3164 N OUT     # auth.log-style BSD syslog lines with <PRI>
    gen.py rfc5424 N OUT     # RFC 5424 lines with structured data
    gen.py cef N OUT         # N CEF lines from a busy firewall and web proxy
    gen.py zeek N OUT        # a Zeek TSV conn.log: full header, N data rows
    gen.py gelf N OUT        # N GELF 1.1 JSON documents, one per line
    gen.py cloudtrail N OUT  # one CloudTrail Records file with N records, one line

Output depends only on (format, N): a fixed seed keeps runs comparable
across machines and commits.  Stdlib only.
"""

import calendar
import json
import random
import sys
import time

SEED = 20261128
CHUNK = 20000  # lines built per write; keeps memory flat and writes large

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

USERS = ("alice", "bob", "carol", "deploy", "ubuntu", "admin", "jenkins",
         "postgres", "www-data", "backup", "mallory", "ops", "git", "svc-ci")
BAD_USERS = ("test", "oracle", "guest", "ftpuser", "user1", "pi", "support",
             "hadoop", "nagios", "minecraft", "ubnt", "admin1", "tomcat")
COMMANDS = ("/usr/bin/apt update", "/usr/bin/apt upgrade -y",
            "/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u sshd",
            "/bin/cat /var/log/auth.log", "/usr/bin/docker ps -a",
            "/usr/sbin/iptables -L -n", "/usr/bin/vim /etc/hosts",
            "/usr/bin/tail -f /var/log/syslog", "/bin/systemctl status cron")
UNITS = ("apt-daily.service", "logrotate.service", "man-db.service",
         "systemd-tmpfiles-clean.service", "fstrim.service",
         "motd-news.service", "certbot.service", "phpsessionclean.service")


def ip_pool(rng, n):
    """A fixed pool of addresses: private ranges, documentation ranges, and
    a few IPv6, so repeated sources look like real scanners/clients."""
    pool = []
    for _ in range(n):
        k = rng.random()
        if k < 0.35:
            pool.append("10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)))
        elif k < 0.5:
            pool.append("192.168.%d.%d" % (rng.randrange(256), rng.randrange(1, 255)))
        elif k < 0.92:
            pool.append("%d.%d.%d.%d" % (rng.choice((45, 61, 89, 103, 116, 185, 193, 203, 218, 222)),
                                         rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)))
        else:
            pool.append("2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536), rng.randrange(1, 65536)))
    return pool


def uuid4(rng):
    """A version-4 UUID string from the generator's own random stream."""
    g = rng.getrandbits
    return "%08x-%04x-4%03x-%04x-%012x" % (g(32), g(16), g(12), 0x8000 | g(14), g(48))


def write_lines(out, n, make_line):
    """Write n lines built by make_line(i) in CHUNK-sized writes."""
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        done = 0
        while done < n:
            m = min(CHUNK, n - done)
            f.write("".join([make_line(done + i) for i in range(m)]))
            done += m


def outside_pool(rng, n):
    """Outside addresses for the CEF, Zeek, GELF and CloudTrail inputs: only
    documentation ranges (IPv4 and a few 2001:db8::/32) and some 172.16/12."""
    pool = []
    for _ in range(n):
        k = rng.random()
        if k < 0.85:
            pool.append("%s.%d" % (rng.choice(("192.0.2", "198.51.100", "203.0.113")), rng.randrange(1, 255)))
        elif k < 0.92:
            pool.append("172.%d.%d.%d" % (rng.randrange(16, 32), rng.randrange(256), rng.randrange(1, 255)))
        else:
            pool.append("2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536), rng.randrange(1, 65536)))
    return pool


def internal_pool(rng, n):
    """Hosts on the inside: 10.x addresses, as a firewall or Zeek sensor sees them."""
    return ["10.%d.%d.%d" % (rng.choice((20, 20, 20, 30, 40)), rng.randrange(256), rng.randrange(1, 255))
            for _ in range(n)]


# --------------------------------------------------------------------------
# RFC 3164
# --------------------------------------------------------------------------

HOSTS_3164 = ("web-01", "web-02", "web-03", "db-01", "db-02", "bastion",
              "ci-runner-7", "mail", "vpn-gw", "k8s-node-04",
              "app01.prod.example.com", "lb-1.dc2.example.net")


def gen_rfc3164(n, out):
    rng = random.Random(SEED)
    ips = ip_pool(rng, 4000)
    choice, rr, rand = rng.choice, rng.randrange, rng.random

    # Start late in November so the run crosses a month boundary; spread the
    # lines over about three days with jittered, monotonically increasing time.
    t = calendar.timegm((2026, 11, 29, 0, 0, 0))
    step = 3 * 86400.0 / max(n, 1)

    def sshd(pid):
        k = rand()
        ip, port = choice(ips), rr(1024, 65536)
        if k < 0.22:
            return 38, "sshd", pid, "Accepted %s for %s from %s port %d ssh2" % (
                choice(("password", "publickey")), choice(USERS), ip, port)
        if k < 0.50:
            inv = "invalid user " if rand() < 0.5 else ""
            user = choice(BAD_USERS) if inv else choice(USERS)
            return 38, "sshd", pid, "Failed password for %s%s from %s port %d ssh2" % (inv, user, ip, port)
        if k < 0.65:
            return 38, "sshd", pid, "Invalid user %s from %s port %d" % (choice(BAD_USERS), ip, port)
        if k < 0.80:
            if rand() < 0.5:
                return 38, "sshd", pid, "Disconnected from user %s %s port %d" % (choice(USERS), ip, port)
            return 38, "sshd", pid, "Disconnected from authenticating user root %s port %d [preauth]" % (ip, port)
        if k < 0.92:
            return 86, "sshd", pid, "pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)" % (
                choice(USERS), rr(1000, 1010))
        return 86, "sshd", pid, "pam_unix(sshd:session): session closed for user %s" % choice(USERS)

    def sudo(pid):
        user = choice(USERS)
        if rand() < 0.7:
            return 85, "sudo", pid, "%8s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s" % (
                user, rr(0, 6), user, choice(COMMANDS))
        return 86, "sudo", pid, "pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=%d)" % (
            user, rr(1000, 1010))

    def cron(pid):
        k = rand()
        if k < 0.4:
            return 86, "CRON", pid, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        if k < 0.8:
            return 86, "CRON", pid, "pam_unix(cron:session): session closed for user root"
        return 78, "CRON", pid, "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"

    def systemd(pid):
        k, unit = rand(), choice(UNITS)
        if k < 0.3:
            msg = "Starting %s..." % unit
        elif k < 0.6:
            msg = "Finished %s." % unit
        elif k < 0.8:
            msg = "%s: Deactivated successfully." % unit
        elif k < 0.9:
            return 30, "systemd-logind", pid, "New session %d of user %s." % (rr(1, 9000), choice(USERS))
        else:
            msg = "%s: Consumed %d.%03ds CPU time." % (unit, rr(0, 40), rr(1000))
        return 30, "systemd", 1, msg

    def kernel(_pid):
        ts = "[%d.%06d]" % (rr(100, 900000), rr(1000000))
        k = rand()
        if k < 0.5:
            msg = ("%s [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 "
                   "SRC=%s DST=10.0.0.%d LEN=40 TOS=0x00 PREC=0x00 TTL=%d ID=%d PROTO=TCP "
                   "SPT=%d DPT=%d WINDOW=1024 RES=0x00 SYN URGP=0") % (
                ts, choice(ips), rr(1, 255), rr(30, 250), rr(65536), rr(1024, 65536),
                choice((22, 23, 80, 443, 3389, 5900, 8080)))
            return 4, "kernel", None, msg
        if k < 0.8:
            return 6, "kernel", None, "%s audit: type=1400 audit(%d.%03d:%d): apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/named\" name=\"/proc/%d/status\" pid=%d comm=\"named\"" % (
                ts, rr(1700000000, 1800000000), rr(1000), rr(100, 9999), rr(100, 60000), rr(100, 60000))
        return 6, "kernel", None, "%s eth0: Link is Up - 1Gbps/Full - flow control rx/tx" % ts

    # Weighted mix, roughly what a busy internet-facing host's auth.log shows.
    makers = (sshd,) * 12 + (sudo,) * 2 + (cron,) * 3 + (systemd,) * 2 + (kernel,)

    with open(out, "w", encoding="utf-8", newline="\n") as f:
        done = 0
        while done < n:
            m = min(CHUNK, n - done)
            buf = []
            for _ in range(m):
                t += step * 2 * rand()
                tm = time.gmtime(t)
                pri, prog, pid, msg = choice(makers)(rr(300, 65000))
                tag = "%s[%d]" % (prog, pid) if pid is not None else prog
                buf.append("<%d>%s %2d %02d:%02d:%02d %s %s: %s\n" % (
                    pri, MONTHS[tm.tm_mon - 1], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    choice(HOSTS_3164), tag, msg))
            f.write("".join(buf))
            done += m


# --------------------------------------------------------------------------
# RFC 5424
# --------------------------------------------------------------------------

HOSTS_5424 = ("web-01.example.com", "web-02.example.com", "web-03.example.com",
              "api-1.prod.example.net", "db-01.example.com", "queue-2.example.org",
              "auth.internal.example.com", "10.20.30.40", "edge-fw-1", "-")
PATHS = ("/index.html", "/api/v1/users", "/api/v1/orders?id=%d", "/login",
         "/static/app.%d.js", "/healthz", "/wp-login.php", "/admin/config",
         "/search?q=shoes&page=%d", "/images/banner-%d.png")
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "Go-http-client/1.1",
          "python-requests/2.31", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)")
OFFSETS = ("Z", "+00:00", "+01:00", "-05:00", "+05:30", "-08:00")


def gen_rfc5424(n, out):
    rng = random.Random(SEED + 5424)
    ips = ip_pool(rng, 4000)
    choice, rr, rand = rng.choice, rng.randrange, rng.random

    t = calendar.timegm((2026, 11, 28, 0, 0, 0))
    step = 3 * 86400.0 / max(n, 1)

    def path():
        p = choice(PATHS)
        return p % rr(1, 5000) if "%d" in p else p

    def nginx(seq):
        ip = choice(ips)
        sd = '[origin ip="%s" software="nginx"][meta sequenceId="%d" sysUpTime="%d"]' % (
            ip, seq, rr(100, 999999))
        msg = '"%s %s HTTP/1.1" %d %d "%s" rt=%d.%03d' % (
            choice(("GET", "GET", "GET", "POST", "PUT", "DELETE")), path(),
            choice((200, 200, 200, 301, 304, 404, 500)), rr(0, 90000),
            choice(AGENTS), rr(0, 3), rr(1000))
        return 165, "nginx", str(rr(300, 65000)), "ACCESS", sd, msg

    def sshd(seq):
        ip, port, ok = choice(ips), rr(1024, 65536), rand() < 0.4
        user = choice(USERS) if ok else choice(BAD_USERS)
        sd = '[auth@32473 user="%s" src="%s" port="%d" result="%s"][meta sequenceId="%d"]' % (
            user, ip, port, "success" if ok else "failure", seq)
        if ok:
            msg = "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%012x" % (
                user, ip, port, rr(1 << 48))
        else:
            msg = "Failed password for invalid user %s from %s port %d ssh2" % (user, ip, port)
        return 38, "sshd", str(rr(300, 65000)), "AUTH", sd, msg

    def app(seq):
        # SD values with escaped '"' and ']' exercise the SD-PARAM escaping path.
        q = rr(4)
        if q == 0:
            note = r'user said \"hello\" twice'
        elif q == 1:
            note = r'matched rule [id=%d\] in set \"prod\"' % rr(1, 999)
        else:
            note = "order %d for tenant t-%04d" % (rr(1, 10 ** 6), rr(10000))
        sd = '[app@32473 tenant="t-%04d" note="%s" latencyMs="%d"][meta sequenceId="%d"]' % (
            rr(10000), note, rr(1, 2500), seq)
        # A few messages start with the BOM RFC 5424 allows before UTF-8 MSG.
        msg = "%shandled %s in %dms status=%s" % (
            "\ufeff" if q == 3 else "", path(), rr(1, 2500), choice(("ok", "ok", "ok", "retry", "error")))
        return choice((134, 134, 131, 132)), "billing-api", "-" if rand() < 0.3 else str(rr(1, 4096)), \
            choice(("REQ", "REQ", "-")), sd, msg

    def bare(seq):
        # No structured data at all ("-"), plain free-form message.
        unit = choice(UNITS)
        msg = "%s: Deactivated successfully. Consumed %d.%03ds CPU time, %d.%dM memory peak, %d.%dM read from disk, %d.%dM written to disk." % (
            unit, rr(0, 40), rr(1000), rr(1, 512), rr(10), rr(1, 99), rr(10), rr(1, 99), rr(10))
        return 30, "systemd", "1", "-", "-", msg

    makers = (nginx,) * 5 + (sshd,) * 2 + (app,) * 2 + (bare,)

    with open(out, "w", encoding="utf-8", newline="\n") as f:
        done = 0
        while done < n:
            m = min(CHUNK, n - done)
            buf = []
            for i in range(m):
                t += step * 2 * rand()
                off = choice(OFFSETS)
                tm = time.gmtime(t)  # wall-clock digits; the offset is just a label
                frac = choice(("", ".%03d" % rr(1000), ".%06d" % rr(1000000)))
                pri, appname, procid, msgid, sd, msg = choice(makers)(done + i)
                buf.append("<%d>1 %04d-%02d-%02dT%02d:%02d:%02d%s%s %s %s %s %s %s %s\n" % (
                    pri, tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    frac, off, choice(HOSTS_5424), appname, procid, msgid, sd, msg))
            f.write("".join(buf))
            done += m


# --------------------------------------------------------------------------
# CEF
# --------------------------------------------------------------------------

CEF_SEVERITY = ("1", "1", "3", "3", "5", "5", "7", "8", "9", "10", "0", "Low", "Medium", "High", "Very-High")
FW_EVENTS = (("100", "Connection denied by policy", "deny"), ("101", "Connection allowed", "allow"),
             ("101", "Connection allowed", "allow"), ("101", "Connection allowed", "allow"),
             ("102", "Connection reset", "reset-both"), ("THREAT-4410", "SQL injection attempt blocked", "reset-both"),
             ("THREAT-2201", "TCP port scan detected", "drop"), ("THREAT-3107", "Suspicious DNS query", "sinkhole"))
PROXY_EVENTS = (("URL-ALLOW", "Request allowed", "allowed"), ("URL-ALLOW", "Request allowed", "allowed"),
                ("URL-ALLOW", "Request allowed", "allowed"), ("URL-BLOCK", "Blocked URL category", "blocked"),
                ("URL-WARN", "User continued past warning page", "allowed"),
                ("MAL-0901", "Malicious download blocked", "blocked"))
FW_RULES = ("Allow Outbound Web", "Allow DNS", "Default Deny", "Block Inbound SSH", "Allow VPN Clients",
            "Allow Monitoring", "Block Tor Exit Nodes", "Allow Mail Relay")
ZONES = ("trust", "untrust", "dmz", "vpn", "guest", "mgmt")
URL_CATEGORIES = ("Business", "Technology", "News", "Social Networking", "Streaming Media", "Gambling",
                  "Malware", "Webmail", "Software Updates", "Uncategorized")
WEB_HOSTS = ("www.example.com", "docs.example.com", "api.example.net", "cdn.example.org", "updates.example.net",
             "mail.example.com", "news.example.org", "files.example.net", "login.example.com")
DOMAIN_USERS = USERS + ("jsmith", "mgarcia", "dkim", "tpatel", "bnguyen")


def gen_cef(n, out):
    rng = random.Random(SEED + 0xCEF)
    ext_ips = outside_pool(rng, 4000)
    int_ips = internal_pool(rng, 1500)
    choice, rr, rand = rng.choice, rng.randrange, rng.random

    t = calendar.timegm((2026, 11, 28, 0, 0, 0))
    step = 86400.0 / max(n, 1)

    def query():
        # Query strings carry '=' which CEF escapes as '\='.
        return "?id\\=%d&sort\\=%s&page\\=%d" % (rr(1, 10 ** 6), choice(("asc", "desc")), rr(1, 40))

    def user():
        u = choice(DOMAIN_USERS)
        return "EXAMPLE\\\\" + u if rand() < 0.3 else u  # a Windows domain user; CEF escapes the backslash

    def custom(pairs, idx, label, value):
        # Vendors put the label before or after the value.
        if rand() < 0.5:
            pairs.append(("cs%dLabel" % idx, label))
            pairs.append(("cs%d" % idx, value))
        else:
            pairs.append(("cs%d" % idx, value))
            pairs.append(("cs%dLabel" % idx, label))

    def firewall(ms):
        sig, name, act = choice(FW_EVENTS)
        inbound = rand() < 0.4
        src, dst = (choice(ext_ips), choice(int_ips)) if inbound else (choice(int_ips), choice(ext_ips))
        proto = choice(("TCP", "TCP", "TCP", "UDP"))
        dpt = choice((53, 123) if proto == "UDP" else (22, 25, 80, 443, 443, 443, 3389, 8080, 8443))
        pairs = [("rt", "%d" % ms), ("act", act), ("src", src), ("spt", "%d" % rr(1024, 65536)),
                 ("dst", dst), ("dpt", "%d" % dpt), ("proto", proto), ("dvchost", "fw%02d.example.com" % rr(1, 5))]
        optional = [
            lambda p: p.append(("deviceInboundInterface", "ethernet1/%d" % rr(1, 9))),
            lambda p: p.append(("deviceOutboundInterface", "ethernet1/%d" % rr(1, 9))),
            lambda p: p.extend((("in", "%d" % rr(40, 2000000)), ("out", "%d" % rr(40, 200000)))),
            lambda p: p.append(("app", choice(("ssl", "web-browsing", "dns", "ssh", "smtp", "ms-rdp")))),
            lambda p: p.append(("cnt", "%d" % rr(1, 50))),
            lambda p: p.append(("suser", user())),
            lambda p: custom(p, 1, "Rule Name", choice(FW_RULES)),
            lambda p: custom(p, 2, "Zone", choice(ZONES)),
            lambda p: custom(p, 3, "Session ID", "%d" % rr(10 ** 8, 10 ** 9)),
            lambda p: p.append(("msg", "%s from zone %s to zone %s" % (name, choice(ZONES), choice(ZONES)))),
            lambda p: p.append(("request", "/%s.php%s" % (choice(("index", "products", "search", "login")), query()))),
            lambda p: p.append(("outcome", "Failure" if act != "allow" else "Success")),
            lambda p: p.append(("externalId", "%d" % rr(10 ** 9, 10 ** 10))),
            lambda p: p.append(("smac", "00:1b:21:%02x:%02x:%02x" % (rr(256), rr(256), rr(256)))),
        ]
        want = rr(12, 20)  # adding may overshoot by one pair: 12-20 in all
        for add in rng.sample(optional, len(optional)):
            if len(pairs) >= want:
                break
            add(pairs)
        return "Halyard Networks|HX Firewall|9.1.3|%s|%s" % (sig, name), pairs, choice(("fw01", "fw02", "10.20.0.1"))

    def proxy(ms):
        sig, name, act = choice(PROXY_EVENTS)
        cat = choice(URL_CATEGORIES)
        header_name = name
        if sig == "URL-BLOCK":  # a '|' inside a header field is escaped
            header_name = "%s %s\\|%s" % (name, cat, choice(("Betting", "Adult", "Risky")))
        host = choice(WEB_HOSTS)
        pairs = [("rt", "%d" % ms), ("src", choice(int_ips)), ("spt", "%d" % rr(1024, 65536)),
                 ("dst", choice(ext_ips)), ("dpt", choice(("443", "443", "443", "80"))), ("suser", user()),
                 ("request", "https://%s/%s%s" % (host, choice(("search", "api/v1/items", "download", "news")),
                                                  query() if rand() < 0.6 else "")),
                 ("requestMethod", choice(("GET", "GET", "GET", "POST", "CONNECT"))), ("act", act)]
        optional = [
            lambda p: p.append(("requestClientApplication", choice(AGENTS))),
            lambda p: p.extend((("in", "%d" % rr(200, 5000)), ("out", "%d" % rr(200, 5000000)))),
            lambda p: p.append(("dhost", host)),
            lambda p: p.append(("app", "HTTPS")),
            lambda p: p.append(("outcome", "blocked" if act == "blocked" else "200")),
            lambda p: custom(p, 1, "Policy", choice(("Default Web Policy", "Strict Guests", "Developers"))),
            lambda p: custom(p, 2, "Category", cat),
            lambda p: custom(p, 3, "Risk Score", "%d" % rr(0, 100)),
            lambda p: p.extend((("cn1", "%d" % rr(1, 3000)), ("cn1Label", "Response Time ms"))),
            lambda p: p.append(("requestContext", "https://%s/" % choice(WEB_HOSTS))),
            lambda p: p.append(("dvchost", "proxy-%02d.example.com" % rr(1, 4))),
            lambda p: p.append(("cat", "/Web/%s" % cat.replace(" ", ""))),
            lambda p: p.append(("msg", "%s: policy rule id\\=%d matched" % (name, rr(1, 500)))),
        ]
        want = rr(12, 20)  # adding may overshoot by one pair: 12-20 in all
        for add in rng.sample(optional, len(optional)):
            if len(pairs) >= want:
                break
            add(pairs)
        return ("Brightwater|Sentry Web Proxy|4.2.0|%s|%s" % (sig, header_name), pairs,
                choice(("proxy-01.example.com", "proxy-02.example.com")))

    def make(_i):
        nonlocal t
        t += step * 2 * rand()
        head, pairs, relay_host = (firewall if rand() < 0.6 else proxy)(int(t * 1000) + rr(1000))
        line = "CEF:0|%s|%s|%s\n" % (head, choice(CEF_SEVERITY), " ".join(["%s=%s" % kv for kv in pairs]))
        if rand() < 0.5:  # about half arrive through a syslog relay
            tm = time.gmtime(t)
            pri = "<%d>" % choice((132, 134, 134, 190)) if rand() < 0.5 else ""
            line = "%s%s %2d %02d:%02d:%02d %s %s" % (
                pri, MONTHS[tm.tm_mon - 1], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, relay_host, line)
        return line

    write_lines(out, n, make)


# --------------------------------------------------------------------------
# Zeek (TSV conn.log)
# --------------------------------------------------------------------------

CONN_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents")
CONN_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def gen_zeek(n, out):
    rng = random.Random(SEED + 0x2EE)
    ext_ips = outside_pool(rng, 4000)
    int_ips = internal_pool(rng, 1500)
    choice, rr, rand, choices = rng.choice, rng.randrange, rng.random, rng.choices

    t = calendar.timegm((2026, 11, 28, 0, 0, 0))
    step = 86400.0 / max(n, 1)
    recent = ["C" + "".join(choices(B62, k=17)) for _ in range(64)]

    header = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
              "#open\t2026-11-28-00-00-00\n#fields\t%s\n#types\t%s\n") % ("\t".join(CONN_FIELDS), "\t".join(CONN_TYPES))

    def make(_i):
        nonlocal t
        t += step * 2 * rand()
        uid = "C" + "".join(choices(B62, k=17))
        recent[rr(64)] = uid
        outbound = rand() < 0.7
        orig, resp = (choice(int_ips), choice(ext_ips)) if outbound else (choice(ext_ips), choice(int_ips))
        k = rand()
        if k < 0.70:
            proto, hdr = "tcp", 40
            resp_p = choice((443, 443, 443, 80, 22, 25, 993, 3389, 8080, 5432))
            service = {443: "ssl", 80: "http", 22: "ssh", 25: "smtp", 993: "ssl", 8080: "http"}.get(resp_p, "-")
            if service == "ssl" and rand() < 0.05:
                service = "ssl,http"
            orig_p = rr(1024, 65536)
            state = choice(("SF", "SF", "SF", "SF", "SF", "S0", "S0", "REJ", "RSTO", "RSTR", "SH", "S1", "OTH"))
        elif k < 0.95:
            proto, hdr = "udp", 28
            resp_p = choice((53, 53, 53, 123, 443, 5353, 161))
            service = {53: "dns", 123: "ntp", 443: "quic", 5353: "dns", 161: "snmp"}[resp_p]
            orig_p = rr(1024, 65536)
            state = choice(("SF", "SF", "SF", "S0", "SHR"))
        else:
            proto, hdr, service = "icmp", 28, "-"
            orig_p, resp_p = choice(((8, 0), (3, 3), (11, 0), (0, 0)))
            state = "OTH"

        if state in ("S0", "REJ") and rand() < 0.7:
            dur = ob = rb = "-"
            opk, rpk = 1 + rr(3), (1 if state == "REJ" else 0)
            obytes, rbytes = 0, 0
            hist = "S" if state == "S0" and proto == "tcp" else ("Sr" if state == "REJ" else "D")
        else:
            dur = "%.6f" % (rand() ** 3 * 600)
            obytes, rbytes = rr(0, 4000), int(rand() ** 4 * 5000000)
            opk, rpk = 1 + obytes // 900 + rr(4), rbytes // 1400 + rr(1, 4)
            ob, rb = str(obytes), str(rbytes)
            if proto == "tcp":
                hist = choice(("ShADadFf", "ShADadfF", "ShAdDaFf", "ShADadR", "ShADdaFRf", "ShADacdtFf"))
            elif proto == "udp":
                hist = choice(("Dd", "Dd", "D"))
            else:
                hist = "-"
        miss = "0" if rand() < 0.98 else str(rr(1, 65536))
        tunnel = "(empty)" if rand() < 0.98 else choice(recent)
        lo = "T" if orig.startswith("10.") else "F"
        lr = "T" if resp.startswith("10.") else "F"
        return "%.6f\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n" % (
            t, uid, orig, orig_p, resp, resp_p, proto, service, dur, ob, rb, state, lo, lr, miss, hist,
            opk, obytes + opk * hdr, rpk, rbytes + rpk * hdr, tunnel)

    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(header)
        done = 0
        while done < n:
            m = min(CHUNK, n - done)
            f.write("".join([make(done + i) for i in range(m)]))
            done += m
        f.write("#close\t2026-11-29-00-00-00\n")


# --------------------------------------------------------------------------
# GELF
# --------------------------------------------------------------------------

GELF_HOSTS = ("web-1.example.com", "web-2.example.com", "billing-api-3.example.com", "auth-1.example.com",
              "queue-2.example.org", "worker-07.example.net", "db-proxy-01.example.com")
GELF_SERVICES = ("frontend", "billing-api", "auth", "mailer", "search", "pgbouncer", "scheduler")
# (template, upper bound for its %d); a %s takes a user name.  Some carry
# quotes, backslashes, tabs and non-ASCII text, so the JSON strings need escaping.
GELF_MESSAGES = (
    ("Request completed", 0), ("Request completed", 0), ("Slow request to /search took %d ms", 30000),
    ("Cache miss for key user:%d:profile", 10 ** 6), ("Job finished", 0), ("Retrying upstream call (attempt %d)", 6),
    ("Wrote report to C:\\reports\\%d.csv", 10 ** 5), ("Config reloaded", 0), ("Payment declined: code=%d", 100),
    ("Tab\tseparated\tvalue %d", 1000), ("Connection pool exhausted (%d waiting)", 200),
    ("Café order #%d — ok", 10 ** 6), ("Login failed for user \"%s\"", 0), ("Session opened for user \"%s\"", 0))


def gen_gelf(n, out):
    rng = random.Random(SEED + 0x6E1F)
    ips = outside_pool(rng, 2000)
    choice, rr, rand = rng.choice, rng.randrange, rng.random
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    t = calendar.timegm((2026, 11, 28, 0, 0, 0))
    step = 86400.0 / max(n, 1)

    extra = (
        lambda d: d.__setitem__("_user_id", rr(1, 10 ** 6) if rand() < 0.6 else choice(USERS)),
        lambda d: d.__setitem__("_request_id", uuid4(rng)),
        lambda d: d.__setitem__("_service", choice(GELF_SERVICES)),
        lambda d: d.__setitem__("_env", choice(("prod", "prod", "staging"))),
        lambda d: d.__setitem__("_http_method", choice(("GET", "GET", "POST", "PUT", "DELETE"))),
        lambda d: d.__setitem__("_http_status", choice((200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 500, 503))),
        lambda d: d.__setitem__("_duration_ms", round(rand() ** 3 * 5000, 3)),
        lambda d: d.__setitem__("_client_ip", choice(ips)),
        lambda d: d.__setitem__("_path", "/%s/%d" % (choice(("api/v1/orders", "users", "search", "invoices")), rr(1, 99999))),
        lambda d: d.__setitem__("_thread", "worker-%d" % rr(1, 33)),
        lambda d: d.__setitem__("_logger", choice(("app.http", "app.db", "app.jobs", "django.request", "gunicorn.error"))),
        lambda d: d.__setitem__("_pid", rr(100, 65000)),
        lambda d: d.__setitem__("_trace_id", "%032x" % rng.getrandbits(128)),
        lambda d: d.__setitem__("_user_agent", choice(AGENTS)),
        lambda d: d.__setitem__("_cache_hit", rand() < 0.5),
    )

    def make(_i):
        nonlocal t
        t += step * 2 * rand()
        msg, top = choice(GELF_MESSAGES)
        if top:
            msg = msg % rr(1, top)
        elif "%s" in msg:
            msg = msg % choice(USERS + BAD_USERS)
        level = choice((6, 6, 6, 6, 7, 5, 4, 4, 3, 3, 2, 1, 0))
        d = {"version": "1.1", "host": choice(GELF_HOSTS), "short_message": msg}
        if level <= 3 and rand() < 0.6:
            d["full_message"] = ("Traceback (most recent call last):\n  File \"/srv/app/%s.py\", line %d, in handle\n"
                                 "    result = backend.call(req)\nTimeoutError: upstream did not answer within %d s\n") % (
                choice(("views", "jobs", "billing", "auth")), rr(10, 900), rr(1, 60))
        d["timestamp"] = round(t + rand(), 3)
        d["level"] = level
        for add in rng.sample(extra, rr(4, 9)):
            add(d)
        return dumps(d) + "\n"

    write_lines(out, n, make)


# --------------------------------------------------------------------------
# CloudTrail
# --------------------------------------------------------------------------

CT_ACCOUNTS = ("111122223333", "444455556666", "777788889999")
CT_REGIONS = ("us-east-1", "us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-southeast-2")
CT_ROLES = ("deploy-role", "etl-role", "ReadOnlyAccess", "AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6789",
            "eks-node-role", "invoice-mailer-exec", "OrganizationAccountAccessRole")
CT_AGENTS = ("aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/command#%s",
             "Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#6.1.112 md/arch#x86_64 lang/python#3.12.7 cfg/retry-mode#legacy Botocore/1.35.60",
             "aws-sdk-go-v2/1.32.4 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/%s",
             "[aws-sdk-java/2.29.6 Linux/6.1.112 OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE]",
             "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
             "terraform-provider-aws/5.78.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.4")


def gen_cloudtrail(n, out):
    rng = random.Random(SEED + 0xC7)
    ips = outside_pool(rng, 2000)
    choice, rr, rand, g = rng.choice, rng.randrange, rng.random, rng.getrandbits
    dumps = json.JSONEncoder(separators=(",", ":")).encode

    t = calendar.timegm((2026, 11, 28, 0, 0, 0))
    step = 3600.0 / max(n, 1)

    def key_id(prefix):
        return prefix + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))

    def iso(ts):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

    def identity(acct, ts):
        k = rand()
        if k < 0.55:
            role = choice(CT_ROLES)
            rid = key_id("AROA")
            session = choice(("gh-actions-%d" % rr(1000, 99999), "i-%017x" % g(68), choice(USERS) + "@example.com",
                              "botocore-session-%d" % rr(10 ** 9, 10 ** 10)))
            return {"type": "AssumedRole", "principalId": "%s:%s" % (rid, session),
                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, session), "accountId": acct,
                    "accessKeyId": key_id("ASIA"),
                    "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid,
                                                         "arn": "arn:aws:iam::%s:role/%s" % (acct, role),
                                                         "accountId": acct, "userName": role},
                                       "webIdFederationData": {},
                                       "attributes": {"creationDate": iso(ts - rr(1, 3600)),
                                                      "mfaAuthenticated": choice(("false", "false", "true"))}}}
        if k < 0.80:
            user = choice(USERS)
            d = {"type": "IAMUser", "principalId": key_id("AIDA"), "arn": "arn:aws:iam::%s:user/%s" % (acct, user),
                 "accountId": acct, "accessKeyId": key_id("AKIA"), "userName": user}
            if rand() < 0.3:
                d["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                       "attributes": {"creationDate": iso(ts - rr(1, 7200)), "mfaAuthenticated": "true"}}
            return d
        if k < 0.95:
            return {"type": "AWSService", "invokedBy": choice(("lambda.amazonaws.com", "ec2.amazonaws.com",
                                                               "cloudtrail.amazonaws.com", "autoscaling.amazonaws.com"))}
        if k < 0.98:
            return {"type": "Root", "principalId": acct, "arn": "arn:aws:iam::%s:root" % acct, "accountId": acct,
                    "accessKeyId": key_id("ASIA")}
        user = choice(USERS)
        return {"type": "FederatedUser", "principalId": "%s:%s" % (acct, user),
                "arn": "arn:aws:sts::%s:federated-user/%s" % (acct, user), "accountId": acct,
                "accessKeyId": key_id("ASIA"),
                "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": key_id("AIDA"),
                                                     "arn": "arn:aws:iam::%s:user/federation-broker" % acct,
                                                     "accountId": acct, "userName": "federation-broker"},
                                   "attributes": {"creationDate": iso(ts - 60), "mfaAuthenticated": "false"}}}

    def s3(acct, region):
        bucket = choice(("example-data-lake", "example-app-assets", "example-backups", "example-cloudtrail-logs"))
        key = "%s/%04d/%02d/%02d/part-%05d.%s" % (choice(("raw/orders", "exports", "img", "db")), 2026, 11,
                                                   rr(1, 29), rr(100000), choice(("parquet", "json.gz", "png")))
        name = choice(("GetObject", "GetObject", "PutObject", "HeadObject"))
        req = {"bucketName": bucket, "Host": "%s.s3.%s.amazonaws.com" % (bucket, region), "key": key}
        extra = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
                 "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "%032x" % g(128),
                 "bytesTransferredOut": rr(100, 50000000)}
        res = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (bucket, key)},
               {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % bucket}]
        return "s3.amazonaws.com", name, req, None, res, "Data", name != "PutObject", extra

    def ec2_describe(acct, region):
        name = choice(("DescribeInstances", "DescribeSecurityGroups", "DescribeVolumes", "DescribeSubnets"))
        req = {"maxResults": 1000, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [
            {"value": choice(("data", "web", "platform"))}]}}]}}
        return "ec2.amazonaws.com", name, req, None, None, "Management", True, None

    def run_instances(acct, region):
        iid = "i-%017x" % g(68)
        req = {"instancesSet": {"items": [{"imageId": "ami-%017x" % g(68), "minCount": 1, "maxCount": 1}]},
               "instanceType": choice(("t3.micro", "m7i.large", "c7g.xlarge")), "blockDeviceMapping": {},
               "monitoring": {"enabled": False}, "disableApiTermination": False,
               "subnetId": "subnet-%017x" % g(68)}
        resp = {"requestId": uuid4(rng), "reservationId": "r-%017x" % g(68), "ownerId": acct,
                "groupSet": {}, "instancesSet": {"items": [{"instanceId": iid, "instanceState": {"code": 0, "name": "pending"},
                                                           "privateIpAddress": "10.%d.%d.%d" % (rr(256), rr(256), rr(1, 255))}]}}
        res = [{"accountId": acct, "type": "AWS::EC2::Instance", "ARN": "arn:aws:ec2:%s:%s:instance/%s" % (region, acct, iid)}]
        return "ec2.amazonaws.com", "RunInstances", req, resp, res, "Management", False, None

    def assume_role(acct, region):
        role = choice(CT_ROLES)
        session = "session-%d" % rr(10 ** 6)
        req = {"roleArn": "arn:aws:iam::%s:role/%s" % (acct, role), "roleSessionName": session, "durationSeconds": 3600}
        resp = {"credentials": {"accessKeyId": key_id("ASIA"), "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE%032x" % g(128),
                                "expiration": "Nov 28, 2026, %d:%02d:%02d AM" % (rr(1, 12), rr(60), rr(60))},
                "assumedRoleUser": {"assumedRoleId": "%s:%s" % (key_id("AROA"), session),
                                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, session)}}
        res = [{"accountId": acct, "type": "AWS::IAM::Role", "ARN": "arn:aws:iam::%s:role/%s" % (acct, role)}]
        return "sts.amazonaws.com", "AssumeRole", req, resp, res, "Management", True, None

    def kms(acct, region):
        kid = uuid4(rng)
        req = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
               "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:%s:%s:function:%s" % (
                   region, acct, choice(("invoice-mailer", "thumbnailer", "etl-loader")))}}
        res = [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:%s:%s:key/%s" % (region, acct, kid)}]
        return "kms.amazonaws.com", choice(("Decrypt", "GenerateDataKey")), req, None, res, "Management", True, None

    def iam_change(acct, region):
        user = choice(USERS)
        name = choice(("CreateAccessKey", "AttachUserPolicy", "CreateUser", "PutRolePolicy", "ListRoles"))
        req = {"userName": user}
        if name == "AttachUserPolicy":
            req["policyArn"] = "arn:aws:iam::aws:policy/%s" % choice(("AdministratorAccess", "ReadOnlyAccess"))
        return "iam.amazonaws.com", name, req, None, None, "Management", name == "ListRoles", None

    def console_login(acct, region):
        ok = rand() < 0.8
        return ("signin.amazonaws.com", "ConsoleLogin", None, {"ConsoleLogin": "Success" if ok else "Failure"}, None,
                "Management", False, {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23",
                                      "MobileVersion": "No", "MFAUsed": choice(("Yes", "No"))})

    def logs(acct, region):
        group = "/aws/lambda/%s" % choice(("invoice-mailer", "thumbnailer", "etl-loader"))
        req = {"logGroupName": group, "logStreamName": "2026/11/28/[$LATEST]%032x" % g(128)}
        return "logs.amazonaws.com", "CreateLogStream", req, None, None, "Management", False, None

    makers = (s3,) * 5 + (ec2_describe,) * 3 + (assume_role,) * 3 + (kms,) * 3 + (run_instances, iam_change,
                                                                                 console_login, logs, logs)

    def record():
        nonlocal t
        t += step * 2 * rand()
        acct, region = choice(CT_ACCOUNTS), choice(CT_REGIONS)
        src, name, req, resp, res, category, read_only, extra = choice(makers)(acct, region)
        ident = identity(acct, t)
        if ident["type"] == "AWSService":
            ip = agent = ident["invokedBy"]
        else:
            ip = choice(ips)
            agent = choice(CT_AGENTS)
            if "%s" in agent:
                agent = agent % name
        if name == "ConsoleLogin":
            region = "us-east-1"
        r = {"eventVersion": choice(("1.08", "1.09", "1.10")), "userIdentity": ident, "eventTime": iso(t),
             "eventSource": src, "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": agent}
        if resp is None and rand() < 0.04:
            r["errorCode"] = choice(("AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException"))
            r["errorMessage"] = "User: %s is not authorized to perform: %s:%s because no identity-based policy allows it" % (
                ident.get("arn", "anonymous"), src.split(".")[0], name)
        r["requestParameters"] = req
        r["responseElements"] = resp
        if extra is not None:
            r["additionalEventData"] = extra
        if name != "ConsoleLogin":
            r["requestID"] = uuid4(rng)
        r["eventID"] = uuid4(rng)
        r["readOnly"] = read_only
        if res is not None:
            r["resources"] = res
        r["eventType"] = "AwsConsoleSignIn" if name == "ConsoleLogin" else "AwsApiCall"
        r["managementEvent"] = category == "Management"
        r["recipientAccountId"] = acct
        if ident["type"] == "AWSService" and rand() < 0.5:
            r["sharedEventID"] = uuid4(rng)
        r["eventCategory"] = category
        if ident["type"] != "AWSService":
            r["tlsDetails"] = {"tlsVersion": choice(("TLSv1.3", "TLSv1.2")),
                               "cipherSuite": choice(("TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256")),
                               "clientProvidedHostHeader": "%s.%s.amazonaws.com" % (src.split(".")[0], region)}
            if rand() < 0.3:
                r["sessionCredentialFromConsole"] = "true"
        return dumps(r)

    # AWS writes a whole log file as one minified line: {"Records":[{...},{...}]}
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write('{"Records":[')
        done = 0
        while done < n:
            m = min(CHUNK // 4, n - done)
            f.write(("," if done else "") + ",".join([record() for _ in range(m)]))
            done += m
        f.write("]}\n")


GENERATORS = {"rfc3164": gen_rfc3164, "rfc5424": gen_rfc5424, "cef": gen_cef, "zeek": gen_zeek,
              "gelf": gen_gelf, "cloudtrail": gen_cloudtrail}


def main(argv):
    if len(argv) != 4 or argv[1] not in GENERATORS:
        sys.stderr.write("usage: gen.py {%s} N OUT\n" % "|".join(GENERATORS))
        return 2
    GENERATORS[argv[1]](int(argv[2]), argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
