import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL for one test (Debian's server, scripts/postgres-private): its own
/// port, data and socket directory on loopback, database "mozdef", user postgres.
public final class PrivatePostgres {
    public let dir: TemporaryDirectory
    public let port: Int
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/mozdef" }

    public init() throws {
        dir = try TemporaryDirectory(prefix: "postgres")
        chmod(dir.url.path, 0o755)  // the server runs as user postgres
        port = try freeLoopbackPort()
        try run("start")
    }

    /// Stops the server (cutting its connections) and starts it again.
    public func restart() throws { try run("restart") }

    func run(_ what: String) throws {
        let script = PrivateBroker.repoRoot.appendingPathComponent("scripts/postgres-private").path
        try runScript([script, what, dir.path("pg"), String(port)])
    }

    /// One SQL statement through psql; its output, unaligned, without headers.
    public func psql(_ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        p.arguments = ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PrivateBroker.Failure(description: "psql failed: \(sql)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { try? run("stop") }
}

/// Runs a script to its end with posix_spawn + waitpid. Foundation's Process never saw such a
/// script exit when the server it starts detaches into its own session; and the test runner
/// blocks signals in its threads, so the mask is cleared for the servers it starts.
public func runScript(_ args: [String]) throws {
    var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in cargs { free(a) } }
    var pid: pid_t = 0
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
    let rc = posix_spawn(&pid, args[0], nil, &attr, &cargs, environ)
    guard rc == 0 else { throw PrivateBroker.Failure(description: "cannot start \(args[0])") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else { throw PrivateBroker.Failure(description: "\(args[0]) \(args[1]) failed (\(status))") }
}

/// A TCP port on 127.0.0.1 that the kernel just handed out and released.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PrivateBroker.Failure(description: "socket failed") }
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &a) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw PrivateBroker.Failure(description: "no free port") }
    return Int(UInt16(bigEndian: a.sin_port))
}
