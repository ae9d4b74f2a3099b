#!/usr/bin/env python3
"""Generate deterministic syslog benchmark inputs for mozdef-ship.

    gen.py rfc3164 N OUT   # auth.log-style BSD syslog lines with <PRI>
    gen.py rfc5424 N OUT   # RFC 5424 lines with structured data

Output depends only on (format, N): a fixed seed keeps runs comparable
across machines and commits.  Stdlib only.
"""

import calendar
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


def main(argv):
    if len(argv) != 4 or argv[1] not in ("rfc3164", "rfc5424"):
        sys.stderr.write("usage: gen.py {rfc3164|rfc5424} N OUT\n")
        return 2
    n = int(argv[2])
    (gen_rfc3164 if argv[1] == "rfc3164" else gen_rfc5424)(n, argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
