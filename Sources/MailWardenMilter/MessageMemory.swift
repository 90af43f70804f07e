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

    /// Takes `count` more bytes if the total stays within `limit`.
    func take(_ count: Int, limit: Int) -> Bool {
        guard held.wrappingAdd(count, ordering: .relaxed).newValue > limit else { return true }
        held.wrappingSubtract(count, ordering: .relaxed)
        return false
    }

    func give(_ count: Int) {
        if count > 0 { held.wrappingSubtract(count, ordering: .relaxed) }
    }
}
