import Testing
@testable import MozDefEvent

@Test func severityNamesAreRFC5424InCapitals() {
    #expect(Severity.allCases.map(\.string) == ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"])
    #expect(Severity(name: "warning") == .warning)
    #expect(Facility.name(4) == "auth")
    #expect(Facility.name(10) == "authpriv")
    #expect(Facility.name(23) == "local7")
    #expect(Facility.name(24) == nil)
}
