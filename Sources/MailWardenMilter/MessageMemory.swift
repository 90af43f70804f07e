// The message bytes all sessions hold at once, for reports and scans. Each message is capped
// (abuse_max_size, scanner_max_size), but a hundred strangers each sending a large report to abuse@
// at once would hold gigabytes, and a daemon killed for its memory leaves every message to the MTA's
// milter_default_action. milter_memory bounds the sum.
import Synchronization

public final class MessageMemory: Sendable {
    private let held = Atomic<Int>(0)

    public init() {}

    /// Bytes held now, over all sessions.
    public var inUse: Int { held.load(ordering: .relaxed) }

    /// Takes `count` more bytes if the total stays within `limit` (never over it, even for a moment:
    /// another session's small take must not fail for a large one that will not fit).
    func take(_ count: Int, limit: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while current + count <= limit {
            let (exchanged, original) = held.compareExchange(expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func give(_ count: Int) {
        if count > 0 { held.wrappingSubtract(count, ordering: .relaxed) }
    }
}
