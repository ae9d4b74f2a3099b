import Testing
@testable import MozDefEvent

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2003-10-11T22:14:15.003Z", "2003-10-11T22:14:15.003+00:00", "2003-10-11T22:14:15.003+00:00"),
        ("2003-08-24T05:14:15.000003-07:00", "2003-08-24T05:14:15.000003-07:00", "2003-08-24T12:14:15.000003+00:00"),
        ("2018-12-31T23:59:59.999999-23:59", "2018-12-31T23:59:59.999999-23:59", "2019-01-01T23:58:59.999999+00:00"),
        ("2016-02-29T00:00:00+05:30", "2016-02-29T00:00:00+05:30", "2016-02-28T18:30:00+00:00"),
        ("2014-02-14T11:48:19.035762739-05:00", "2014-02-14T11:48:19.035762739-05:00", "2014-02-14T16:48:19.035762739+00:00"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59+00:00", "1969-12-31T23:59:59+00:00"),
        ("2026-11-29 10:00:00+0100", "2026-11-29T10:00:00+01:00", "2026-11-29T09:00:00+00:00"),
    ])
    func parsesAndFormatsKeepingTheOffset(input: String, local: String, utc: String) throws {
        let p = try #require(Timestamp.parseISO8601(input))
        #expect(p.hasZone)
        #expect(p.timestamp.iso8601() == local)
        #expect(p.timestamp.iso8601(utc: true) == utc)
    }

    @Test(arguments: [
        "2003-09-31T22:14:15Z", "2018-02-29T22:14:16+01:00", "2003-09-29T22:99:16Z", "2003-09-29T24:00:00Z",
        "2003-09-29T22:09:01.Z", "2003-08-24T05:14:15-24:00", "2003-08-24T05:14:15-07:61", "201-11-22T00:00:00Z",
        "2018-112-22", "", "2018-01-01",
    ])
    func rejectsImpossibleTimes(input: String) {
        #expect(Timestamp.parseISO8601(input) == nil)
    }

    @Test func strictRFC5424RejectsWhatRFC3339Allows() {
        let strict = Timestamp.ParseOptions(rfc5424Strict: true)
        #expect(Timestamp.parseISO8601("2006-01-02t15:04:05Z", options: strict) == nil)
        #expect(Timestamp.parseISO8601("2006-01-02T15:04:05", options: strict) == nil)
        #expect(Timestamp.parseISO8601("2003-09-29T22:09:01.1234567Z", options: strict) == nil)
        #expect(Timestamp.parseISO8601("2003-09-29T22:09:01.123456Z", options: strict) != nil)
        #expect(Timestamp.parseISO8601("2003-09-29T22:09:01.1234567Z") != nil)
    }

    @Test func zonelessTimeIsReportedAsSuch() throws {
        let p = try #require(Timestamp.parseISO8601("2026-11-28T10:03:04.5"))
        #expect(!p.hasZone)
        #expect(p.timestamp.iso8601() == "2026-11-28T10:03:04.5+00:00")
    }

    @Test(arguments: [
        (Int64(1_468_443_523), "2016-07-13T20:58:43+00:00"),
        (Int64(1_468_443_523_000), "2016-07-13T20:58:43+00:00"),
        (Int64(1_468_443_523_123), "2016-07-13T20:58:43.123+00:00"),
        (Int64(1_468_443_523_000_001), "2016-07-13T20:58:43.000001+00:00"),
        (Int64(1_468_443_523_000_000_000), "2016-07-13T20:58:43+00:00"),
        (Int64(1_468_443_523_000_000_007), "2016-07-13T20:58:43.000000007+00:00"),
        (Int64(-5), "1970-01-01T00:00:00+00:00"),
    ])
    func epochIntegersScaleByDigitCountAsMozDefDoes(value: Int64, expected: String) {
        #expect(Timestamp.fromEpoch(integer: value).iso8601(utc: true) == expected)
    }

    @Test func epochDoubles() throws {
        #expect(try #require(Timestamp.fromEpoch(seconds: 1385053862.3072)).iso8601(utc: true) == "2013-11-21T17:11:02.307200+00:00")
        #expect(try #require(Timestamp.fromEpoch(seconds: 1.468443523e18)).iso8601(utc: true) == "2016-07-13T20:58:43+00:00")
        #expect(Timestamp.fromEpoch(seconds: .infinity) == nil)
    }

    @Test func civilCalendarRoundTripsEveryDayOverFourCenturies() {
        var d = Civil.days(year: 1900, month: 1, day: 1)
        let end = Civil.days(year: 2300, month: 1, day: 1)
        var (y, m, day) = (Int64(1900), 1, 1)
        while d < end {
            let c = Civil.date(days: d)
            #expect(c.year == y && c.month == m && c.day == day)
            if c.year != y || c.month != m || c.day != day { return }
            d += 1
            day += 1
            if day > Civil.daysIn(month: m, year: y) { day = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
        }
    }

    @Test func namedZonesComeFromTZifFiles() throws {
        let berlin = try ZoneInfo.named("Europe/Berlin")
        // 2026-07-01T12:00:00Z: CEST (+2); 2026-01-15T12:00:00Z: CET (+1)
        #expect(berlin.offset(atUTC: 1_782_907_200) == 7200)
        #expect(berlin.offset(atUTC: 1_768_478_400) == 3600)
        // Local wall times either side of the 2026-03-29 change (02:00 → 03:00).
        let before = Civil.seconds(year: 2026, month: 3, day: 29, hour: 1, minute: 30, second: 0)
        let after = Civil.seconds(year: 2026, month: 3, day: 29, hour: 3, minute: 30, second: 0)
        #expect(berlin.offset(forLocal: before) == 3600)
        #expect(berlin.offset(forLocal: after) == 7200)
        #expect(try ZoneInfo.named("+05:30").offset(atUTC: 0) == 19800)
        #expect(try ZoneInfo.named("-0800").offset(atUTC: 0) == -28800)
        #expect(throws: ZoneInfo.LoadError.self) { try ZoneInfo.named("Mars/Olympus_Mons") }
        #expect(throws: ZoneInfo.LoadError.self) { try ZoneInfo.named("../../etc/passwd") }
    }
}
