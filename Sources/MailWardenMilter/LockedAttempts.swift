// Attempts of locked identities, written at most once a second per identity. A hijacked account
// keeps sending once it is locked, often harder; each refusal was a write transaction of its own on
// the milter's path (SQLite has one writer, which everyone's counts wait for), where the same
// account's messages while it was unlocked were counted as one per second. Held mail is not
// tallied here: its queue id is written at once, for `mailwarden unlock` to release it.
import MailWardenCore
import Synchronization

public final class LockedAttempts: Sendable {
    private struct Tally {
        /// Attempts not written yet.
        var waiting = 0
        /// The second of the last write.
        var writtenAt: Int64
    }

    private let tallies = Mutex<[Identity: Tally]>([:])

    public init() {}

    /// Notes one attempt at `now`; returns how many to write now (this one and those held back
    /// since the last write), or 0 when this second's write was made and it waits for the next.
    func note(_ identity: Identity, at now: Int64) -> Int {
        tallies.withLock { tallies in
            guard let tally = tallies[identity], tally.writtenAt >= now else {
                let count = (tallies[identity]?.waiting ?? 0) + 1
                tallies[identity] = Tally(writtenAt: now)
                return count
            }
            tallies[identity]?.waiting += 1
            return 0
        }
    }

    /// The attempts held back, to write now (each second, and at a stop), as written at `now`;
    /// forgets the identities not written this second, so the table holds only those refused lately.
    public func takeWaiting(at now: Int64) -> [(identity: Identity, count: Int)] {
        tallies.withLock { tallies in
            let waiting = tallies.compactMap { $0.value.waiting > 0 ? ($0.key, $0.value.waiting) : nil }
            tallies = tallies.filter { $0.value.writtenAt >= now }.mapValues { _ in Tally(writtenAt: now) }
            for (identity, _) in waiting { tallies[identity] = Tally(writtenAt: now) }
            return waiting
        }
    }
}
