import Foundation
import Testing
import TestSupport

/// `mozdef-ship tail` against real files, real renames, real truncation and Debian's
/// logrotate. Each test counts lines in and out and compares them by content.
@Suite(.serialized) struct TailTests {
    /// A running `mozdef-ship tail` writing events to `out.jsonl` in `dir`.
    final class Tailer {
        let process = Process()
        let dir: TemporaryDirectory
        var out: String { dir.path("out.jsonl") }

        init(_ dir: TemporaryDirectory, _ extra: [String] = [], patterns: [String], cwd: URL? = nil) throws {
            self.dir = dir
            process.executableURL = Binary.url
            if let cwd { process.currentDirectoryURL = cwd }
            process.arguments = ["tail", "--format", "syslog", "--state-dir", dir.path("state"), "--to", "file:" + dir.path("out.jsonl"),
                                 "--rotate-wait", "1", "--flush-after", "1", "--poll-interval", "0.2"] + extra + patterns
            _ = FileManager.default.createFile(atPath: dir.path("stderr"), contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path("stderr")))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        /// SIGTERM, then the exit status.
        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        var stderr: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }
    }

    /// The summaries of the events written so far, in order.
    static func summaries(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["summary"] as? String
        }
    }

    /// Waits until `ok` holds for the output's summaries (30 s at most).
    @discardableResult
    static func wait(for path: String, _ ok: ([String]) -> Bool) -> [String] {
        let deadline = Date().addingTimeInterval(30)
        var s = summaries(path)
        while !ok(s) && Date() < deadline {
            usleep(50_000)
            s = summaries(path)
        }
        return s
    }

    static func line(_ n: Int) -> String { "<13>Nov 29 10:00:00 host app: L\(String(format: "%07d", n))" }

    /// Appends lines n..<m, opening and closing the file (as a writer that reopens its log does).
    static func append(_ path: String, _ range: Range<Int>) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        precondition(fd >= 0)
        var text = ""
        for n in range { text += line(n) + "\n" }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count { done += write(fd, b.baseAddress! + done, b.count - done) }
        }
        close(fd)
    }

    /// The summary of the first part of a test line: "L" and fewer than 7 digits, or (cut
    /// before the message) text from the line's fixed start.
    static func isLineStart(_ summary: String) -> Bool {
        if summary.hasPrefix("L") && summary.count < 8 && summary.dropFirst().allSatisfy(\.isNumber) { return true }
        return line(0).contains(summary)
    }

    static func expected(_ range: Range<Int>) -> [String] { range.map { "L" + String(format: "%07d", $0) } }

    /// Lines of a file, as summaries (for "what the files hold" after copytruncate).
    static func fileLines(_ path: String) -> [String] {
        guard let d = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: d, as: UTF8.self).split(separator: "\n").map { String($0.split(separator: " ").last!) }
    }

    static func duplicates(_ s: [String]) -> [String] {
        var seen = Set<String>(), dups: [String] = []
        for x in s where !seen.insert(x).inserted { dups.append(x) }
        return dups
    }

    /// Appends probe lines to `log` until one comes out: the tailer is then past its first
    /// look (on a loaded machine that can take longer than any fixed wait).
    static func waitUntilFollowing(_ t: Tailer, _ log: String) {
        let tag = "Aprobe-\(UInt32.random(in: 0...UInt32.max))-"
        let deadline = Date().addingTimeInterval(30)
        var k = 0
        while Date() < deadline {
            let fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
            let text = Array("<13>Nov 29 10:00:00 host app: \(tag)\(k)\n".utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            k += 1
            usleep(200_000)
            if summaries(t.out).contains(where: { $0.hasPrefix(tag) }) { return }
        }
    }

    @Test func startsAtEndResumesFromCheckpointAndReadsNewFiles() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<10)  // before the first start: not read (starts at the end)
        var t = try Tailer(dir, patterns: [dir.path("*.log")])
        Self.waitUntilFollowing(t, log)
        Self.append(log, 10..<20)
        Self.wait(for: t.out) { $0.filter { $0.hasPrefix("L") }.count >= 10 }
        #expect(t.stop() == 0)
        Self.append(log, 20..<30)  // written while stopped: read after the restart
        let before = Self.summaries(t.out).count
        t = try Tailer(dir, patterns: [dir.path("*.log")])
        // Past its first look, new.log is a file that appeared while running.
        Self.wait(for: t.out) { $0.count >= before + 10 }
        Self.waitUntilFollowing(t, log)
        Self.append(dir.path("new.log"), 1000..<1005)  // a file that appears later is read from its start
        let s = Self.wait(for: t.out) { $0.filter { $0 >= "L0001000" }.count >= 5 }.filter { $0.hasPrefix("L") }
        #expect(t.stop() == 0)
        #expect(s.filter { $0 < "L0001000" } == Self.expected(10..<30))
        #expect(s.filter { $0 >= "L0001000" } == Self.expected(1000..<1005))
        #expect(Self.summaries(t.out).filter { $0.hasPrefix("Aprobe") }.count == Set(Self.summaries(t.out).filter { $0.hasPrefix("Aprobe") }).count,
                "no line twice")
        // The second run's count: what it read, all of it out.
        let line = t.stderr.split(separator: "\n").last { $0.contains(" lines in, ") } ?? ""
        let nums = line.split(separator: " ").compactMap { Int($0) }
        #expect(nums.count >= 2 && nums[0] == nums[1] && nums[0] >= 15, "\(line)")
    }

    /// With inotify, and with stat polling alone (what runs when inotify is missing or overflows).
    @Test(arguments: [[], ["--no-inotify"]])
    func renameAndCreateWhileAWriterRunsAtFullSpeed(watch: [String]) throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<1)
        let t = try Tailer(dir, ["--from-beginning"] + watch, patterns: [log])
        // Following before the writer starts: a generation rotated away before the first look
        // was never this tailer's to read.
        Self.wait(for: t.out) { $0.count >= 1 }
        // The writer keeps its descriptor until it reopens: lines after the rename go to the old file.
        var fd = open(log, O_WRONLY | O_APPEND)
        var n = 1
        func put(_ fd: Int32) {
            let b = Array((Self.line(n) + "\n").utf8)
            _ = b.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            n += 1
        }
        for round in 0..<5 {
            for _ in 0..<4000 { put(fd) }
            if round == 4 { break }
            rename(log, dir.path("app.log.\(round + 1)"))
            for _ in 0..<50 { put(fd) }
            close(fd)
            fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        }
        close(fd)
        let s = Self.wait(for: t.out) { $0.count >= n }
        #expect(t.stop() == 0)
        #expect(Self.duplicates(s).count == 0)
        let lost = Set(Self.expected(0..<n)).subtracting(s)
        #expect(lost.count == 0, "lost \(lost.count) of \(n), e.g. \(lost.sorted().prefix(5)); out \(s.count)")
    }

    /// The path is empty for a while after a rename; then a generation is created and renamed
    /// away between two looks, and a new one takes the path: the middle one is still read.
    @Test func aGenerationBornAndRotatedWhileThePathWasEmpty() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<3)
        // Polling only, once a second: the steps below fall between two looks.
        let t = try Tailer(dir, ["--from-beginning", "--no-inotify", "--poll-interval", "1"], patterns: [log])
        Self.wait(for: t.out) { $0.count >= 3 }
        try FileManager.default.moveItem(atPath: log, toPath: dir.path("app.log.1"))
        usleep(1_500_000)  // a look sees the path empty
        Self.append(log, 3..<6)
        try FileManager.default.moveItem(atPath: log, toPath: dir.path("app.log.2"))
        Self.append(log, 6..<9)
        let s = Self.wait(for: t.out) { $0.count >= 9 }
        #expect(t.stop() == 0)
        #expect(Set(s) == Set(Self.expected(0..<9)) && s.count == 9, "\(s)")
    }

    @Test func aRelativePathThroughARotation() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        Self.append(dir.path("app.log"), 0..<3)
        let t = try Tailer(dir, ["--from-beginning"], patterns: ["app.log"], cwd: dir.url)
        Self.wait(for: t.out) { $0.count >= 3 }
        try FileManager.default.moveItem(atPath: dir.path("app.log"), toPath: dir.path("app.log.1"))
        Self.append(dir.path("app.log.1"), 3..<5)  // the writer has not reopened yet
        Self.append(dir.path("app.log"), 5..<8)
        let s = Self.wait(for: t.out) { $0.count >= 8 }
        #expect(t.stop() == 0)
        #expect(Set(s) == Set(Self.expected(0..<8)) && s.count == 8)
    }

    @Test func truncationAndDeletion() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<100)
        let t = try Tailer(dir, ["--from-beginning"], patterns: [log])
        Self.wait(for: t.out) { $0.count >= 100 }
        // Truncated in place (no copy beside it): read again from the start.
        truncate(log, 0)
        Self.append(log, 100..<150)
        Self.wait(for: t.out) { $0.count >= 150 }
        // Deleted after more lines: they are still read; a new file at the path is read from its start.
        Self.append(log, 150..<200)
        unlink(log)
        Self.append(log, 200..<210)
        let s = Self.wait(for: t.out) { $0.count >= 210 }
        #expect(t.stop() == 0)
        #expect(s.count == 210)
        #expect(Set(s).symmetricDifference(Self.expected(0..<210)).count == 0)
        #expect(t.stderr.contains("truncated"))
    }

    @Test func symlinkedPathAndCompressedRotations() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        Self.append(dir.path("a.txt"), 0..<5)
        symlink(dir.path("a.txt"), dir.path("current.log"))
        // A compressed rotated file matching the pattern is never read as new.
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", dir.path("a.txt")]
        try gz.run()
        gz.waitUntilExit()
        try FileManager.default.moveItem(atPath: dir.path("a.txt.gz"), toPath: dir.path("current.log.1.gz"))
        let t = try Tailer(dir, ["--from-beginning"], patterns: [dir.path("current.log*")])
        Self.wait(for: t.out) { $0.count >= 5 }
        Self.append(dir.path("a.txt"), 5..<10)
        Self.wait(for: t.out) { $0.count >= 10 }
        // The link pointed at another file: the old one is read to its end, the new one from its start.
        Self.append(dir.path("b.txt"), 100..<105)
        unlink(dir.path("current.log"))
        symlink(dir.path("b.txt"), dir.path("current.log"))
        Self.append(dir.path("a.txt"), 10..<12)
        let s = Self.wait(for: t.out) { $0.count >= 17 }
        usleep(300_000)
        #expect(t.stop() == 0)
        #expect(Self.summaries(t.out).count == 17)
        #expect(Set(s) == Set(Self.expected(0..<12) + Self.expected(100..<105)))
        #expect(t.stderr.contains("current.log.1.gz: compressed, not read"))
    }

    static func logrotate(_ dir: TemporaryDirectory, _ log: String, _ mode: String) throws {
        let conf = dir.path("logrotate.conf")
        try "\(log) {\n  rotate 5\n  \(mode)\n  missingok\n  nocompress\n}\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/logrotate")
        p.arguments = ["-f", "-s", dir.path("logrotate.state"), conf]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "logrotate \(mode) failed")
    }

    @Test(arguments: ["create", "copytruncate"])
    func logrotate(mode: String) throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<1)
        let t = try Tailer(dir, ["--from-beginning"], patterns: [log])
        Self.wait(for: t.out) { $0.count >= 1 }  // following before the first rotation
        // A writer appending batches at full speed while logrotate runs three times.
        final class Flag: @unchecked Sendable { var stop = false; var written = 1 }
        let flag = Flag()
        let writer = Thread {
            var n = 1
            while !flag.stop {
                Self.append(log, n..<(n + 200))
                n += 200
                flag.written = n
            }
        }
        writer.start()
        for _ in 0..<3 {
            usleep(150_000)
            try Self.logrotate(dir, log, mode)
        }
        usleep(150_000)
        flag.stop = true
        while !writer.isFinished { usleep(10_000) }
        let written = flag.written
        // What the files hold: logrotate itself loses the lines written between its copy and
        // its truncate (copytruncate); every line still in a file must have been read.
        var held = Set<String>()
        for name in ["app.log", "app.log.1", "app.log.2", "app.log.3"] { held.formUnion(Self.fileLines(dir.path(name))) }
        let s = Self.wait(for: t.out) { Set($0).isSuperset(of: held) }
        usleep(300_000)
        let final = Self.summaries(t.out)
        #expect(t.stop() == 0)
        #expect(Self.duplicates(final).count == 0, "duplicated \(Self.duplicates(final).count), e.g. \(Self.duplicates(final).prefix(5))")
        let lost = held.subtracting(s)
        #expect(lost.count == 0, "lost \(lost.count) of \(held.count), e.g. \(lost.sorted().prefix(5)); written \(written), out \(final.count)")
        let strays = Set(final).subtracting(Self.expected(0..<written))
        if mode == "create" {
            #expect(strays.isEmpty, "lines never written: \(strays.sorted().prefix(5))")
            #expect(held.count == written)
        } else {
            // A line the tailer had partly read when logrotate truncated, its rest written after
            // the copy, is gone from every file: its first part comes out as a line of its own,
            // at most one per rotation, and the tailer says so.
            #expect(strays.count <= 3 && strays.allSatisfy(Self.isLineStart), "lines never written: \(strays.sorted().prefix(5))")
            if !strays.isEmpty { #expect(t.stderr.contains("truncated after a partial last line")) }
        }
    }

    @Test func kill9MidStreamThenRestartLosesNothing() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<1)
        var t = try Tailer(dir, ["--from-beginning"], patterns: [log])
        final class Flag: @unchecked Sendable { var stop = false; var written = 1 }
        let flag = Flag()
        let writer = Thread {
            var n = 1
            while n < 60_000 && !flag.stop {
                Self.append(log, n..<(n + 500))
                n += 500
                flag.written = n
            }
            flag.stop = true
        }
        writer.start()
        Self.wait(for: t.out) { $0.count >= 5_000 }
        t.kill9()
        let beforeKill = Self.summaries(t.out)
        t = try Tailer(dir, patterns: [log])
        while !flag.stop { usleep(10_000) }
        let s = Self.wait(for: t.out) { Set($0).count >= flag.written }
        #expect(t.stop() == 0)
        let lost = Set(Self.expected(0..<flag.written)).subtracting(s)
        #expect(lost.count == 0, "lost \(lost.count) of \(flag.written), e.g. \(lost.sorted().prefix(5))")
        // The bound: only lines of the batch the checkpoint had not recorded repeat, and they
        // are one contiguous run at the end of what was written before the kill.
        let dups = Self.duplicates(s)
        if let first = dups.first {
            let start = try #require(beforeKill.firstIndex(of: first))
            #expect(Array(beforeKill[start...]) == dups, "duplicates are not one batch")
        }
    }

    @Test func sighupReopensTheOutputFile() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<3)
        let t = try Tailer(dir, ["--from-beginning"], patterns: [log])
        Self.wait(for: t.out) { $0.count >= 3 }
        // The output is rotated away; after SIGHUP the events go to a new file at its path.
        try FileManager.default.moveItem(atPath: t.out, toPath: t.out + ".1")
        kill(t.process.processIdentifier, SIGHUP)
        usleep(300_000)
        Self.append(log, 3..<6)
        let s = Self.wait(for: t.out) { $0.count >= 3 }
        #expect(t.stop() == 0)
        #expect(Self.summaries(t.out + ".1") == Self.expected(0..<3))
        #expect(s == Self.expected(3..<6))
    }

    @Test func aDamagedCheckpointFileIsSetAsideAndNothingIsLost() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let log = dir.path("app.log")
        Self.append(log, 0..<5)
        var t = try Tailer(dir, ["--from-beginning"], patterns: [log])
        Self.wait(for: t.out) { $0.count >= 5 }
        #expect(t.stop() == 0)
        try "garbage\n".write(toFile: dir.path("state/checkpoints"), atomically: false, encoding: .utf8)
        Self.append(log, 5..<8)
        t = try Tailer(dir, patterns: [log])
        let s = Self.wait(for: t.out) { Set($0).count >= 8 }
        #expect(t.stop() == 0)
        #expect(Set(s) == Set(Self.expected(0..<8)))
        #expect(t.stderr.contains("checkpoints:1: not a checkpoint file"))
        #expect(FileManager.default.fileExists(atPath: dir.path("state/checkpoints.damaged")))
    }

    @Test func aSecondTailerOnTheSameStateDirectoryIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let t = try Tailer(dir, patterns: [dir.path("*.log")])
        usleep(500_000)
        let r = try Binary.run(["tail", "--state-dir", dir.path("state"), dir.path("*.log")])
        #expect(r.status == 2)
        #expect(r.stderr.contains("in use by another mozdef-ship tail"))
        #expect(t.stop() == 0)
    }

    /// systemd-analyze verify checks that ExecStart's program exists and the units it
    /// names load: it runs against a root holding the system's units, the binary where the
    /// unit expects it (/usr/bin) and the unit, as on a machine where it is installed.
    @Test func systemdUnitVerifies() throws {
        let dir = try TemporaryDirectory(prefix: "tail")
        let root = dir.path("root")
        let fm = FileManager.default
        for d in ["usr/lib/systemd", "usr/bin", "bin", "etc/systemd/system"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", "/usr/lib/systemd/system", root + "/usr/lib/systemd/"]
        try cp.run()
        cp.waitUntilExit()
        #expect(cp.terminationStatus == 0)
        try fm.copyItem(atPath: Binary.url.path, toPath: root + "/usr/bin/mozdef-ship")
        try fm.copyItem(atPath: "/bin/kill", toPath: root + "/bin/kill")
        let unit = Binary.repoRoot.appendingPathComponent("samples/systemd/mozdef-ship.service").path
        try fm.copyItem(atPath: unit, toPath: root + "/etc/systemd/system/mozdef-ship.service")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        p.arguments = ["verify", "--man=no", "--root=" + root, "/etc/systemd/system/mozdef-ship.service"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(e.isEmpty, "systemd-analyze: \(e)")
    }
}
