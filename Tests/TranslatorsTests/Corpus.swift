import Foundation

/// The shared conformance corpus lives beside the checkout (`../shared/corpus`);
/// suites that need it are skipped, with this message, when it is absent.
enum Corpus {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/corpus")

    static var available: Bool { FileManager.default.fileExists(atPath: root.path) }
    static let missing = "conformance corpus not found at ../shared/corpus beside the checkout: corpus suites skipped"

    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(relative)))
    }
}
