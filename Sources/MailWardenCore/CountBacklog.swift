// Messages accepted uncounted while the store failed (on_error = accept), to be counted once it
// answers again, each in its own second, so an identity that sent through an outage is still judged
// on everything it sent. Bounded: past `capacity` the oldest are dropped, and counted as dropped.
import Synchronization

public final class CountBacklog: Sendable {
    private struct Pending {
        var events: [(sequence: Int, event: MessageEvent)] = []
        /// The oldest waiting event's index. The front leaves by moving it (a full backlog drops one
        /// per message, on the milter's path): the array is compacted only once half of it is gone.
        var head = 0
        var nextSequence = 0
        var dropped = 0

        var waiting: ArraySlice<(sequence: Int, event: MessageEvent)> { events[head...] }

        mutating func dropFront(through sequence: Int) {
            while head < events.count, events[head].sequence <= sequence { head += 1 }
            if head > 0, head * 2 >= events.count {
                events.removeFirst(head)
                head = 0
            }
        }
    }

    public let capacity: Int
    private let pending = Mutex(Pending())

    public init(capacity: Int = 100_000) {
        self.capacity = max(capacity, 1)
    }

    public func add(_ event: MessageEvent) {
        pending.withLock { p in
            if let oldest = p.waiting.first, p.waiting.count >= capacity {
                p.dropFront(through: oldest.sequence)
                p.dropped += 1
            }
            p.events.append((p.nextSequence, event))
            p.nextSequence += 1
        }
    }

    public var count: Int { pending.withLock { $0.waiting.count } }
    public var dropped: Int { pending.withLock { $0.dropped } }

    /// Counts the waiting events in order with `count`, outside the lock (it writes to the store);
    /// stops at the first failure and keeps that event and the rest, and at `deadline` (a stop that
    /// must end in time). Returns how many were counted. One caller at a time (the daemon's catch-up
    /// thread, or its stop).
    public func drain(until deadline: ContinuousClock.Instant? = nil, _ count: (MessageEvent) throws -> Void) throws -> Int {
        let batch = pending.withLock { Array($0.waiting) }
        var done = 0
        defer {
            if let last = batch.prefix(done).last?.sequence {
                // By sequence, not by position: add() may have dropped some from the front meanwhile.
                pending.withLock { $0.dropFront(through: last) }
            }
        }
        for item in batch {
            if let deadline, ContinuousClock.now >= deadline { break }
            try count(item.event)
            done += 1
        }
        return done
    }
}
