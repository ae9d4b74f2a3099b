#!/usr/bin/env python3
"""Benchmarks for `mozdef-ship tail` (run by `make bench`).

1. Latency: an idle tailer, one line appended every 20 ms; the time from the write to the
   event arriving on tail's stdout, p50/p99 over 300 lines (target: p99 < 100 ms).
2. Memory: 100 files followed while writers append 2,000 lines to each at full speed;
   peak RSS of the tailer (target: <= 32 MiB), and every line must arrive exactly once.

Environment: MOZDEF_SHIP (the binary; default: the release build).
"""
import json, os, selectors, signal, subprocess, sys, tempfile, threading, time

BIN = os.environ.get("MOZDEF_SHIP") or os.path.join(os.path.dirname(__file__), "..", ".build", "release", "mozdef-ship")
TARGET_P99_MS = 100.0
TARGET_RSS_MIB = 32.0


def line(tag, n):
    return b"<13>Nov 29 10:00:00 host app: %s-%07d\n" % (tag.encode(), n)


def latency(tmp):
    log = os.path.join(tmp, "latency.log")
    open(log, "wb").close()
    p = subprocess.Popen([BIN, "tail", "--format", "syslog", "--state-dir", os.path.join(tmp, "state-latency"), log],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # past the first scan
    sent, got = {}, {}

    def reader():
        for raw in p.stdout:
            t = time.monotonic()
            s = json.loads(raw)["summary"]
            got[s] = t

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    for n in range(300):
        key = "lat-%07d" % n
        sent[key] = time.monotonic()
        os.write(fd, line("lat", n))
        time.sleep(0.02)
    os.close(fd)
    deadline = time.monotonic() + 10
    while len(got) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    p.wait()
    lat = sorted((got[k] - sent[k]) * 1000 for k in sent if k in got)
    missing = len(sent) - len(lat)
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return p50, p99, missing


def memory(tmp):
    d = os.path.join(tmp, "many")
    os.makedirs(d)
    files = [os.path.join(d, "f%03d.log" % i) for i in range(100)]
    for f in files:
        open(f, "wb").close()
    out = os.path.join(tmp, "many.jsonl")
    p = subprocess.Popen([BIN, "tail", "--format", "syslog", "--state-dir", os.path.join(tmp, "state-many"),
                          "--to", "file:" + out, os.path.join(d, "*.log")], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    per = 2000

    def writer(i):
        fd = os.open(files[i], os.O_WRONLY | os.O_APPEND)
        for start in range(0, per, 100):
            os.write(fd, b"".join(line("f%03d" % i, n) for n in range(start, start + 100)))
        os.close(fd)

    ths = [threading.Thread(target=writer, args=(i,)) for i in range(100)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    want = 100 * per
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline:
        with open(out, "rb") as f:
            count = sum(1 for _ in f)
        if count >= want:
            break
        time.sleep(0.2)
    with open("/proc/%d/status" % p.pid) as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    p.send_signal(signal.SIGTERM)
    p.wait()
    with open(out) as f:
        summaries = [json.loads(l)["summary"] for l in f]
    return hwm / 1024.0, want, len(summaries), len(set(summaries))


def backpressure(tmp):
    """A destination that does not read for 2 s while 100 MB wait in the file: reading must
    pause (the file is the buffer), memory stay bounded, and every line arrive once."""
    log = os.path.join(tmp, "big.log")
    n = 400_000
    with open(log, "wb") as f:
        for start in range(0, n, 1000):
            f.write(b"".join(line("big", i) for i in range(start, start + 1000)))
    p = subprocess.Popen([BIN, "tail", "--format", "syslog", "--from-beginning", "--state-dir", os.path.join(tmp, "state-big"), log],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # nobody reads: tail blocks on its output
    with open("/proc/%d/status" % p.pid) as f:
        hwm_blocked = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    count, seen = 0, set()
    for raw in p.stdout:
        seen.add(json.loads(raw)["summary"])
        count += 1
        if count == n:
            break
    with open("/proc/%d/status" % p.pid) as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    p.send_signal(signal.SIGTERM)
    p.stdout.close()
    p.wait()
    return hwm_blocked / 1024.0, hwm / 1024.0, n, count, len(seen)


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit("tail bench: no binary at %s (build with `swift build -c release`)" % BIN)
    with tempfile.TemporaryDirectory(prefix="mozdef-ship-tail-bench-") as tmp:
        p50, p99, missing = latency(tmp)
        rss, want, got, unique = memory(tmp)
        bp_blocked, bp_rss, bp_want, bp_got, bp_unique = backpressure(tmp)
    print("| tail | value |")
    print("|---|---:|")
    print("| line-to-output latency p50, idle | %.1f ms |" % p50)
    print("| line-to-output latency p99, idle | %.1f ms |" % p99)
    print("| peak RSS following 100 files (200k lines) | %.1f MiB |" % rss)
    print("| peak RSS, 400k lines waiting behind a stalled destination | %.1f MiB |" % bp_rss)
    print()
    ok = True
    def check(cond, text):
        nonlocal ok
        ok = ok and cond
        print(("PASS  " if cond else "MISS  ") + text)
    check(p99 < TARGET_P99_MS and missing == 0, "tail latency p99: %.1f ms (target < %.0f ms), %d lines missing" % (p99, TARGET_P99_MS, missing))
    check(rss <= TARGET_RSS_MIB, "tail peak RSS with 100 files: %.1f MiB (target <= %.0f MiB)" % (rss, TARGET_RSS_MIB))
    check(got == want and unique == want, "tail 100 files: %d lines written, %d events, %d distinct" % (want, got, unique))
    check(bp_rss <= TARGET_RSS_MIB and bp_got == bp_want and bp_unique == bp_want,
          "tail with a stalled destination: peak RSS %.1f MiB (%.1f MiB while stalled), %d of %d lines, %d distinct"
          % (bp_rss, bp_blocked, bp_got, bp_want, bp_unique))
    if got != want or unique != want or bp_got != bp_want or bp_unique != bp_want:
        sys.exit(1)


if __name__ == "__main__":
    main()
