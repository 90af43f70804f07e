// The milter's copy of the locks and overrides in force, so that checking a message reads memory and
// not the store: with a shared PostgreSQL store that saves a network round trip per message, and
// the locks it knows stay enforced while the database is away.
// It keeps current in one of two ways. A store on this host (SQLite) is asked for its policy version
// at a lookup (a one-row read, made by one lookup while the others go on) and re-read when it moved;
// the daemon asks at most every 20 ms, so `mailwarden lock` takes effect within 20 ms while a busy
// milter reads the version 50 times a second, not twice per message. A shared store is re-read when a change is announced (LISTEN/NOTIFY)
// and its version is checked every second besides: a notification lost while disconnected is never
// repeated. Either way the whole snapshot is read again every minute, whatever the version says: a
// version can come round again (a standby promoted without the last commits, a restored backup).
import Foundation
import Synchronization

public final class PolicyCache: IdentityStateSource, @unchecked Sendable {
    public enum Freshness: Sendable {
        /// The version is read at a lookup when the store last confirmed the snapshot at least
        /// `interval` ago (a store on this host).
        case checkedAtLookup(atMostEvery: Duration)
        /// Someone calls refresh() when told of a change and every second (a shared store).
        case refreshedFromOutside

        /// The version is read at every lookup.
        public static let checkedAtEveryLookup = Freshness.checkedAtLookup(atMostEvery: .zero)
    }

    private struct Held {
        var snapshot: PolicySnapshot
        /// When the store last confirmed (or replaced) the snapshot: the cache's age counts from here.
        var confirmedAt: ContinuousClock.Instant
        /// When the snapshot was last read whole.
        var readAt: ContinuousClock.Instant
        /// A lookup is reading the version: the others go on with the snapshot meanwhile.
        var refreshing = false
    }

    private let store: PolicyStore
    public let freshness: Freshness
    /// How long a snapshot is trusted on its version alone.
    private let fullReadEvery: Duration
    private let held: Mutex<Held>
    /// Signalled by wake(): a change was announced.
    private let announced = NSCondition()
    private var pendingAnnouncement = false

    /// Reads the first snapshot when the store answers; until then the cache knows no lock and the
    /// counts, which need the store too, are answered per on_error.
    public init(store: PolicyStore, freshness: Freshness, fullReadEvery: Duration = .seconds(60)) {
        self.store = store
        self.freshness = freshness
        self.fullReadEvery = fullReadEvery
        held = Mutex(Held(snapshot: PolicySnapshot(version: .min, locks: [:], overrides: [:]), confirmedAt: .now, readAt: .now))
        try? refresh()
    }

    /// Never throws for a store that cannot be read: the locks known so far stay in force (the count
    /// that follows fails, and the message is answered per on_error).
    public func state(of identity: Identity) -> IdentityState {
        if case .checkedAtLookup(let interval) = freshness {
            // One lookup reads the version once it is due; the lookups that come while it reads do
            // not queue behind it on the store's connection. A failed read leaves confirmedAt
            // behind: the next lookup asks again.
            let due = interval == .zero || held.withLock { h in
                guard !h.refreshing, ContinuousClock.now - h.confirmedAt >= interval else { return false }
                h.refreshing = true
                return true
            }
            if due {
                try? refresh()
                if interval != .zero { held.withLock { $0.refreshing = false } }
            }
        }
        return held.withLock { $0.snapshot.state(of: identity) }
    }

    /// Re-reads the snapshot when the store's version moved, or when it was last read whole
    /// `fullReadEvery` ago.
    public func refresh() throws {
        let version = try store.policyVersion()
        let unchanged = held.withLock { h in
            h.snapshot.version == version && ContinuousClock.now - h.readAt < fullReadEvery
        }
        guard !unchanged else {
            held.withLock { $0.confirmedAt = .now }
            return
        }
        // Installed whatever its version: two refreshes racing may put the older one last, and the
        // next refresh, finding the version moved, corrects it. A restored backup may go back in version.
        let fresh = try store.policySnapshot()
        held.withLock { $0 = Held(snapshot: fresh, confirmedAt: .now, readAt: .now) }
    }

    /// For a shared store: refreshes on a thread of its own every `interval`, and at once after
    /// wake(). `report` hears of the first failure of a run (the locks known stay in force meanwhile)
    /// and, with nil, of the first success after it.
    public func refreshInBackground(every interval: TimeInterval, report: @escaping @Sendable (Error?) -> Void) {
        Thread.detachNewThread(named: "policy-cache") { [self] in
            var failing = false
            while true {
                announced.withLock {
                    if !pendingAnnouncement { _ = announced.wait(until: Date(timeIntervalSinceNow: interval)) }
                    pendingAnnouncement = false
                }
                do {
                    try refresh()
                    if failing { report(nil) }
                    failing = false
                } catch {
                    if !failing { report(error) }
                    failing = true
                }
            }
        }
    }

    /// Another host or a command changed a lock or an override (LISTEN/NOTIFY), or the announcements
    /// were interrupted: the background refresh runs now.
    public func wake() {
        announced.withLock {
            pendingAnnouncement = true
            announced.signal()
        }
    }

    /// A lock this process just committed, in force here before any refresh brings it.
    public func noteLock(_ lock: LockRecord) {
        held.withLock { $0.snapshot.locks[lock.identity] = lock }
    }

    public func noteUnlock(of identity: Identity) {
        _ = held.withLock { $0.snapshot.locks.removeValue(forKey: identity) }
    }

    /// Seconds since the store last confirmed what the cache holds.
    public var ageSeconds: Double {
        let age = ContinuousClock.now - held.withLock { $0.confirmedAt }
        return Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
    }

    public var lockCount: Int { held.withLock { $0.snapshot.locks.count } }
}
