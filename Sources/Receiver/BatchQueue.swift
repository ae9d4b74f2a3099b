import Foundation

/// Items handed from many threads to one worker thread, which takes everything waiting at
/// once (the store's group commit, the alert forwarder).
final class BatchQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []

    func put(_ more: [Item]) {
        condition.lock()
        items += more
        condition.signal()
        condition.unlock()
    }

    /// Waits for at least one item; returns all of them.
    func takeAll() -> [Item] {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let all = items
        items.removeAll()
        return all
    }
}
