#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMdsSystem

/// Wakes the tailer when a watched directory changes (inotify), or after a timeout
/// (stat polling). Polling always runs: inotify only makes changes arrive sooner, so a
/// queue overflow or a filesystem without inotify loses nothing.
public final class Watcher {
    private let fd: Int32
    private var watched: [String: Int32] = [:]
    /// Set when inotify is unavailable (polling only).
    public let pollingOnly: Bool
    public private(set) var overflows = 0

    public init(inotify: Bool = true) {
        #if os(Linux)
        fd = inotify ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        #else
        fd = -1
        #endif
        pollingOnly = fd < 0
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Watches `directory` (once); false when it cannot be watched (then it is polled).
    @discardableResult
    public func watch(directory: String) -> Bool {
        guard fd >= 0 else { return false }
        if watched[directory] != nil { return true }
        let wd = mds_inotify_watch_dir(fd, directory)
        guard wd >= 0 else { return false }
        watched[directory] = wd
        return true
    }

    /// Forgets every directory (after a re-glob the set is built again).
    public func forgetAll() {
        #if os(Linux)
        for (_, wd) in watched { inotify_rm_watch(fd, wd) }
        #endif
        watched.removeAll()
    }

    public struct Wake: Sendable {
        /// Something changed (a write, or a file appearing or going).
        public var changed: Bool
        /// A file appeared, moved or went, or events were lost: the caller re-globs.
        public var structural: Bool
    }

    /// Waits up to `timeout` seconds for a change or a signal.
    public func wait(timeout: Double) -> Wake {
        let ms = Int32(max(0, min(timeout, 3600)) * 1000)
        if fd < 0 {
            _ = poll(nil, 0, ms)
            return Wake(changed: false, structural: false)
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, ms)
        guard n > 0 else { return Wake(changed: false, structural: false) }
        var structural: Int32 = 0
        let r = mds_inotify_drain(fd, &structural)
        if r == 1 { overflows += 1 }
        return Wake(changed: r >= 0, structural: structural != 0)
    }
}
