// Counting an identity's mail and complaints against its limits, and locking it when one is crossed.
// Shared by the milter (messages) and the abuse desk (complaints); pure logic over a PolicyStore.
import Foundation

/// The source of "now", injectable so tests can step through windows.
public protocol WallClock: Sendable {
    func now() -> Int64
}

/// What the policy decided for one counted event.
public enum AccountingOutcome: Sendable, Equatable {
    /// Counted, under every limit.
    case pass(totals: [Counter: Int])
    /// Counted; exempt from locking.
    case exempt(totals: [Counter: Int])
    /// The identity is locked; `crossing` is set when this very event locked it.
    case locked(LockRecord, crossing: LimitCrossing?)
    /// monitor mode: the identity would be locked (or is locked and would be refused) but is not.
    case wouldLock(reason: String, totals: [Counter: Int])

    /// The identity's window totals with this event, unless it is locked.
    public var totals: [Counter: Int]? {
        switch self {
        case .pass(let totals), .exempt(let totals), .wouldLock(_, let totals): return totals
        case .locked: return nil
        }
    }
}

public final class IdentityAccounting: Sendable {
    public let config: Config
    public let store: PolicyStore
    public let clock: WallClock
    /// The milter's cache of the locks and overrides; nil reads them from the store (desk, CLI).
    public let cache: PolicyCache?
    /// Messages counted at the same moment share one transaction and one commit.
    private let counting: GroupCommit<AccountingOutcome>
    /// With count_commit = write_behind, the milter's counts that may commit after the answer.
    private let writeBehind: WriteBehindCounts?

    public init(config: Config, store: PolicyStore, clock: WallClock, cache: PolicyCache? = nil, writeBehind: WriteBehindCounts? = nil) {
        self.config = config
        self.store = store
        self.clock = clock
        self.cache = cache
        counting = GroupCommit(store: store)
        self.writeBehind = config.countCommit == .write_behind ? writeBehind : nil
    }

    private var states: any IdentityStateSource { cache ?? store }

    /// The lock in force for an identity, lifting it first when its cooldown has run out.
    public func activeLock(of identity: Identity, state: IdentityState? = nil) throws -> LockRecord? {
        let state = try state ?? states.state(of: identity)
        guard let lock = state.lock else { return nil }
        let now = clock.now()
        guard lock.hasExpired(at: now) else { return lock }
        if try store.liftExpiredLock(of: identity, at: now) {
            cache?.noteUnlock(of: identity)
            return nil
        }
        // Lifted already, or locked again since the expired lock was read: the store says which.
        guard let current = try store.state(of: identity).lock, !current.hasExpired(at: now) else {
            cache?.noteUnlock(of: identity)
            return nil
        }
        cache?.noteLock(current)
        return current
    }

    /// What a message's first step found: the identity's state and, when it is locked, the outcome.
    public struct Check: Sendable {
        public let state: IdentityState
        /// `.locked`, or `.wouldLock` in monitor mode (the mail goes on uncounted); nil: scan and count it.
        public let refusal: AccountingOutcome?
    }

    /// A message's first step. Locked mail is never scanned; the caller records the refused attempt.
    public func check(_ identity: Identity) throws -> Check {
        let state = try states.state(of: identity)
        guard let lock = try activeLock(of: identity, state: state) else {
            // An expired lock was just lifted: the state read before no longer holds it.
            return Check(state: IdentityState(lock: nil, override: state.override), refusal: nil)
        }
        let refusal: AccountingOutcome = config.mode == .monitor ? .wouldLock(reason: "locked: \(lock.reason)", totals: [:])
                                                                 : .locked(lock, crossing: nil)
        return Check(state: state, refusal: refusal)
    }

    /// A message's last step, once check() let it through and the scanners (if any) gave their
    /// verdict in `event.spam`/`event.scan`: counts it, and locks the identity on a crossing.
    /// `state` is what check() read, so the message costs one lookup.
    /// With count_commit = write_behind, an identity far from every limit is answered before its count
    /// commits: the outcome is then `.pass` or `.exempt` with the most the totals can be.
    public func count(_ event: MessageEvent, state: IdentityState, heldQueueID: String? = nil) throws -> AccountingOutcome {
        let limits = config.limits(with: state.override)
        let exempt = config.isExempt(event.identity, override: state.override)
        if let writeBehind, let estimate = writeBehind.admit(event, limits: limits, exempt: exempt, read: {
            try store.windowTotals(of: event.identity, at: event.at, windows: limits.windows)
        }, work: { run in
            try self.countWork(run, limits: limits, exempt: exempt, alreadyAnswered: true, heldQueueID: nil)
        }) {
            return exempt ? .exempt(totals: estimate) : .pass(totals: estimate)
        }
        // The count and the lock it may set commit together: a failure between them (answered
        // per on_error) leaves no count behind, so the client's retry is counted once. The lock is
        // noted in the cache only once it is committed.
        var outcome: AccountingOutcome?
        defer { writeBehind?.countedNow(outcome?.totals, of: event.identity, at: event.at) }
        outcome = try counting.run(key: event.identity) {
            try self.countWork([event], limits: limits, exempt: exempt, alreadyAnswered: false, heldQueueID: heldQueueID)[0]
        }
        if case .locked(let lock, crossing: .some)? = outcome { cache?.noteLock(lock) }
        return outcome!
    }

    /// The store work of a run of one identity's messages of one second (one, unless written behind):
    /// record, then lock on a crossing; one outcome per message. A message `alreadyAnswered` (written
    /// behind) went on its way: only the lock is set, no refused attempt recorded.
    private func countWork(_ run: [MessageEvent], limits: LimitSet, exempt: Bool, alreadyAnswered: Bool,
                           heldQueueID: String?) throws -> [AccountingOutcome] {
        let runTotals = try store.record(run, windows: limits.windows)
        // Each message's totals: the run's, less what the messages after it added.
        var later: [Counter: Int] = [:]
        var totals: [[Counter: Int]] = []
        for event in run.reversed() {
            var these = runTotals
            for (counter, amount) in later { these[counter, default: 0] -= amount }
            totals.append(these)
            for (counter, amount) in event.counted { later[counter, default: 0] += amount }
        }
        totals.reverse()
        if exempt { return totals.map { .exempt(totals: $0) } }
        let policy = LockPolicy(limits: limits)
        guard let first = totals.firstIndex(where: { policy.crossing(totals: $0) != nil }), let crossing = policy.crossing(totals: totals[first]) else {
            return totals.map { .pass(totals: $0) }
        }
        let outcome = try lockOrWarn(run[first].identity, crossing: crossing, totals: totals[first], crossingAttempt: !alreadyAnswered,
                                     heldQueueID: heldQueueID)
        return totals.indices.map { index in
            if index < first { return .pass(totals: totals[index]) }
            if index == first { return outcome }
            // Counted after the crossing, in the same second: already on their way.
            switch outcome {
            case .locked(let lock, _): return .locked(lock, crossing: nil)
            case .wouldLock(let reason, _): return .wouldLock(reason: reason, totals: totals[index])
            default: return outcome
            }
        }
    }

    /// Counts a complaint (report `reportID`, received at `receivedAt`) traced to an identity; it locks
    /// only once enough distinct reporters complained. Also returns the reports behind the window's
    /// complaints, for the notice. A report received before the window (a backlog imported late) is
    /// kept on record and counts toward no lock: that abuse is long over.
    public func accountComplaint(identity: Identity, reporter: String, reportID: Int64, receivedAt: Int64) throws -> CountedComplaint {
        let state = try states.state(of: identity)
        if let lock = try activeLock(of: identity, state: state) { return CountedComplaint(outcome: .locked(lock, crossing: nil), reportIDs: []) }
        let limits = config.limits(with: state.override)
        let window = limits.complaints?.window ?? limits.windows[.complaints]!
        let now = clock.now()
        if receivedAt <= now - window.seconds {
            _ = try store.recordComplaint(identity: identity, reporter: reporter, reportID: reportID, at: receivedAt, window: window)
            return CountedComplaint(outcome: .pass(totals: [:]), reportIDs: [])
        }
        // Dated by its arrival, not by when the desk got to it: a backlog (the desk stopped, parses
        // that ran out their time) must not bring complaints that came days apart into one window.
        let tally = try store.recordComplaint(identity: identity, reporter: reporter, reportID: reportID, at: min(receivedAt, now), window: window)
        // Any recipient of a customer's mail can complain: below complaint_min_reporters distinct
        // reporters, complaints are kept but do not count toward a lock.
        let totals: [Counter: Int] = [.complaints: tally.reporters >= config.complaintMinReporters ? tally.reporters : 0]
        let outcome: AccountingOutcome
        if config.isExempt(identity, override: state.override) {
            outcome = .exempt(totals: totals)
        } else if let crossing = LockPolicy(limits: limits).crossing(totals: totals) {
            // A complaint refuses no message: the lock's attempts count the mail it refuses from now on.
            outcome = try lockOrWarn(identity, crossing: crossing, totals: totals, crossingAttempt: false, heldQueueID: nil)
        } else {
            outcome = .pass(totals: totals)
        }
        return CountedComplaint(outcome: outcome, reportIDs: tally.reportIDs)
    }

    private func lockOrWarn(_ identity: Identity, crossing: LimitCrossing, totals: [Counter: Int],
                            crossingAttempt: Bool, heldQueueID: String?) throws -> AccountingOutcome {
        if config.mode == .monitor { return .wouldLock(reason: crossing.description, totals: totals) }
        let now = clock.now()
        let cooldown = config.lockCooldown.seconds
        let (lock, isNew) = try store.lock(LockRecord(
            identity: identity, lockedAt: now, lockedBy: "auto", automatic: true,
            reason: "limit crossed: \(crossing)", expiresAt: cooldown > 0 ? now + cooldown : nil,
            counter: crossing.counter, count: crossing.count, limit: crossing.limit.description))
        // The crossing message gets the lock action too; it counts as the lock's first attempt.
        if crossingAttempt { try store.recordLockedAttempt(identity: identity, at: now, heldQueueID: heldQueueID) }
        // A lock set meanwhile by another session, host or admin won: it was announced by its setter.
        return .locked(lock, crossing: isNew ? crossing : nil)
    }
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

/// A counted complaint: what it did to the identity, and the reports behind the window's complaints.
public struct CountedComplaint: Sendable {
    public let outcome: AccountingOutcome
    public let reportIDs: [Int64]

    /// Tells `notifier` of the lock this complaint set, naming those reports; a lock that stood
    /// already is not news. Call it once the complaint is committed.
    public func notify(_ notifier: LockNotifier?) {
        if case .locked(let lock, crossing: .some) = outcome {
            notifier?.identityLocked(lock, cause: .complaints(reportIDs: reportIDs))
        }
    }
}
