import Foundation

/// The shared conformance corpus lives beside the checkout (`../shared/corpus`);
/// suites that need it are skipped, with this message, when it is absent.
public enum Corpus {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/corpus")

    public static var available: Bool { FileManager.default.fileExists(atPath: root.path) }
    public static let missing = "conformance corpus not found at ../shared/corpus beside the checkout: corpus suites skipped"

    public static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(relative)))
    }
}
