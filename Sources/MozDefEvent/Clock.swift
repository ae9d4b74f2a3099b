#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall clock and CPU-independent monotonic time, without Foundation.
public enum Clock {
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(epochSeconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec), fractionDigits: 6)
    }

    /// The time of receipt for each record: the coarse clock (a few ms resolution)
    /// costs a fraction of the precise one per call, so it is written to milliseconds.
    public static func received() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return Timestamp(epochSeconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec) / 1_000_000 * 1_000_000, fractionDigits: 3)
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
