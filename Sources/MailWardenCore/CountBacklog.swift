// Messages accepted uncounted while the store failed (on_error = accept), to be counted once it
// answers again, each in its own second, so an identity that sent through an outage is still judged
// on everything it sent. Bounded: past `capacity` the oldest are dropped, and counted as dropped.
import Synchronization

public final class CountBacklog: Sendable {
    private struct Pending {
        var events: [(sequence: Int, event: MessageEvent)] = []
        var nextSequence = 0
        var dropped = 0
    }

    public let capacity: Int
    private let pending = Mutex(Pending())

    public init(capacity: Int = 100_000) {
        self.capacity = max(capacity, 1)
    }

    public func add(_ event: MessageEvent) {
        pending.withLock { p in
            if p.events.count >= capacity {
                p.events.removeFirst()
                p.dropped += 1
            }
            p.events.append((p.nextSequence, event))
            p.nextSequence += 1
        }
    }

    public var count: Int { pending.withLock { $0.events.count } }
    public var dropped: Int { pending.withLock { $0.dropped } }

    /// Counts the waiting events in order with `count`, outside the lock (it writes to the store);
    /// stops at the first failure and keeps that event and the rest. Returns how many were counted.
    /// One caller at a time (the daemon's catch-up thread).
    public func drain(_ count: (MessageEvent) throws -> Void) throws -> Int {
        let batch = pending.withLock { $0.events }
        var done = 0
        defer {
            if let last = batch.prefix(done).last?.sequence {
                // By sequence, not by position: add() may have dropped some from the front meanwhile.
                pending.withLock { $0.events.removeAll { $0.sequence <= last } }
            }
        }
        for item in batch {
            try count(item.event)
            done += 1
        }
        return done
    }
}
