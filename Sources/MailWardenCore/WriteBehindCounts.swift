// Counts written behind the answer (count_commit = write_behind). A message whose identity is far
// from every limit is answered at once; a writer thread commits its count a moment later, with the
// other counts of that moment in one transaction, and one identity's counts of one second as one
// (a busy sender's, or a hijacked account's, second costs the store one count and its outbound
// rows). Under load the answer then no longer waits behind the other sessions' commits, which is
// most of a synchronous count's time (bench/results.md).
//
// "Far" is judged on the totals this host last committed for the identity, at most a second old,
// plus every count it answered since: the windows only slide forward, so that is an upper bound of
// the identity's totals on this host. While it stays under half of every limit no message can cross
// one, so only the moment of the commit moves, never a lock; the count that commits still locks on a
// crossing (several hosts sharing a store: at most a second late). Nearer a limit the count is
// synchronous and refreshes the totals.
//
// An identity not counted here in the last second (most of a hosting server's senders, at every
// message) has its committed totals read first, with none of its counts waiting or being made
// synchronously meanwhile, so the read misses none of this host's: the message then waits for a
// read (which in WAL waits for no writer), not for a commit behind the other sessions'.
//
// The writer lets a group gather for `gatherInterval` (or until it is full) before it commits: under
// load the messages of that moment then share one commit's page writes and file locks, and a busy
// sender's become one count, where a writer that committed each count as it came wrote groups of one
// or two (bench/results.md).
//
// A clean stop writes every count first (flush). A crash loses the counts not yet committed: the
// last `gatherInterval` and a commit's worth, at most `capacity`. A count the store refuses goes to the
// CountBacklog, to be counted once it answers again, as with on_error = accept (the mail is gone).
import Foundation

public final class WriteBehindCounts: @unchecked Sendable {
    /// What a count written behind came to, or the error that kept it from committing.
    public typealias Written = @Sendable (MessageEvent, Result<AccountingOutcome, any Error>) -> Void

    private struct Pending {
        let event: MessageEvent
        /// Counts a run of the identity's messages of one second, this one among them.
        let work: ([MessageEvent]) throws -> [AccountingOutcome]
    }

    /// An identity's totals as this host last committed them, and what it answered since.
    private struct Known {
        var totals: [Counter: Int]
        var readAt: Int64
        var unwritten: [Counter: Int] = [:]
        var pending = 0
    }

    /// Reads an identity's committed totals (PolicyStore.windowTotals).
    public typealias ReadTotals = () throws -> [Counter: Int]

    private let store: any TransactionalStore
    /// The most counts waiting at once; past it, counts are synchronous again.
    public let capacity: Int
    private let maxGroup: Int
    private let gatherInterval: TimeInterval
    /// The most identities whose totals are remembered: only those counted in the last second are of
    /// use, so a full table drops the others (a few hundred bytes each).
    private let maxKnown: Int
    private let written: Written
    private let condition = NSCondition()
    private var queued: [Pending] = []
    private var known: [Identity: Known] = [:]
    /// Identities whose totals are being read: their other messages wait for the read.
    private var reading: Set<Identity> = []
    /// Synchronous counts under way per identity (from the moment admit decides on one until
    /// countedNow): a read then could miss them.
    private var countingNow: [Identity: Int] = [:]
    /// Identities whose read a synchronous count began during: the read may have missed it.
    private var spoiledReads: Set<Identity> = []
    /// Counts of the group the writer is committing.
    private var writing = 0
    /// Someone waits for the counts queued (a synchronous count for its identity's, a flush): the
    /// group gathering now commits at once.
    private var hurried = false
    private var writerStarted = false

    public init(store: any TransactionalStore, capacity: Int = 10_000, maxGroup: Int = 64, gatherInterval: TimeInterval = 0.01,
                maxKnown: Int = 10_000, written: @escaping Written) {
        self.store = store
        self.capacity = max(capacity, 1)
        self.maxGroup = max(maxGroup, 1)
        self.gatherInterval = gatherInterval
        self.maxKnown = max(maxKnown, 1)
        self.written = written
    }

    /// Counts waiting to be committed.
    public var waiting: Int { condition.withLock { queued.count + writing } }
    /// Counts taken to write behind since the start.
    public var taken: Int { condition.withLock { takenSoFar } }
    private var takenSoFar = 0

    /// Takes `event`'s count to write behind and returns the totals it will bring the identity to at
    /// most, or returns nil: count it now, then call countedNow. An `exempt` identity is never
    /// locked, so its counts go behind however near its limits. `work` commits the count of a run of
    /// the identity's messages of one second, this one among them (it joins a transaction of the
    /// writer's): a busy sender's second is counted as one. It runs on the writer thread. `read` gives
    /// the identity's committed totals when this host knows none fresh (a read that fails: count now).
    /// Before returning nil it waits (at most `pendingTimeout`) for the identity's counts still
    /// waiting, so that the count made now sees them.
    public func admit(_ event: MessageEvent, limits: LimitSet, exempt: Bool = false, pendingTimeout: TimeInterval = 5,
                      read: ReadTotals, work: @escaping ([MessageEvent]) throws -> [AccountingOutcome]) -> [Counter: Int]? {
        let deadline = Date(timeIntervalSinceNow: pendingTimeout)
        condition.lock()
        defer { condition.unlock() }
        while reading.contains(event.identity) {
            if !condition.wait(until: deadline) { return countNow(event.identity) }
        }
        if known[event.identity].map({ $0.pending == 0 && $0.readAt < event.at - 1 }) ?? true,
           countingNow[event.identity] == nil, queued.count < capacity {
            reading.insert(event.identity)
            condition.unlock()
            let totals = try? read()
            condition.lock()
            reading.remove(event.identity)
            condition.broadcast()
            if let totals, spoiledReads.remove(event.identity) == nil { note(totals, of: event.identity, at: event.at) }
        }
        guard var entry = known[event.identity] else { return countNow(event.identity) }
        let counted = event.counted
        var estimate = entry.totals
        for (counter, amount) in entry.unwritten { estimate[counter, default: 0] += amount }
        for (counter, amount) in counted { estimate[counter, default: 0] += amount }
        let far = exempt || Counter.allCases.allSatisfy { counter in limits[counter].map { (estimate[counter] ?? 0) <= $0.count / 2 } ?? true }
        guard far, entry.readAt >= event.at - 1, queued.count < capacity else {
            // Marked before the wait: once the identity's counts are written, another message of it
            // could start a read that this count, made after, would escape.
            let countedNow = countNow(event.identity)
            while (known[event.identity]?.pending ?? 0) > 0 {
                hurry()
                if !condition.wait(until: deadline) { break }
            }
            return countedNow
        }
        for (counter, amount) in counted { entry.unwritten[counter, default: 0] += amount }
        entry.pending += 1
        known[event.identity] = entry
        takenSoFar += 1
        queued.append(Pending(event: event, work: work))
        if !writerStarted { startWriter() }
        // Only the writer waits for counts to arrive: for the first, or for a full group.
        if queued.count == 1 || queued.count >= maxGroup { condition.broadcast() }
        return estimate
    }

    /// Called with the lock held: admit's nil.
    private func countNow(_ identity: Identity) -> [Counter: Int]? {
        countingNow[identity, default: 0] += 1
        if reading.contains(identity) { spoiledReads.insert(identity) }
        return nil
    }

    /// Ends a synchronous count that admit asked for, remembering the identity's totals as it
    /// committed them, if it did.
    public func countedNow(_ totals: [Counter: Int]?, of identity: Identity, at time: Int64) {
        condition.withLock {
            if let totals { note(totals, of: identity, at: time) }
            let left = (countingNow[identity] ?? 1) - 1
            countingNow[identity] = left > 0 ? left : nil
        }
    }

    /// Waits until every count taken so far has been committed (or handed on as failed), for at most
    /// `timeout` seconds. Returns how many still wait.
    @discardableResult
    public func flush(timeout: TimeInterval) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !queued.isEmpty || writing > 0 {
            hurry()
            if !condition.wait(until: deadline) { break }
        }
        return queued.count + writing
    }

    /// Called with the lock held.
    private func hurry() {
        guard !hurried, !queued.isEmpty else { return }
        hurried = true
        condition.broadcast()
    }

    private func note(_ totals: [Counter: Int], of identity: Identity, at time: Int64) {
        if var entry = known[identity] {
            // Commits finish out of order: keep the newest second's totals, the larger of two in one second.
            guard time >= entry.readAt else { return }
            entry.totals = time > entry.readAt ? totals : entry.totals.merging(totals, uniquingKeysWith: max)
            entry.readAt = time
            known[identity] = entry
            return
        }
        if known.count >= maxKnown {
            known = known.filter { $0.value.pending > 0 || $0.value.readAt >= time - 1 }
            guard known.count < maxKnown else { return }
        }
        known[identity] = Known(totals: totals, readAt: time)
    }

    /// Called with the lock held.
    private func startWriter() {
        writerStarted = true
        Thread.detachNewThread(named: "write-behind") { [self] in
            while true { writeOneGroup() }
        }
    }

    private func writeOneGroup() {
        condition.lock()
        while queued.isEmpty { condition.wait() }
        let gathered = Date(timeIntervalSinceNow: gatherInterval)
        while queued.count < maxGroup, !hurried, condition.wait(until: gathered) {}
        hurried = false
        // Sorted by identity (stable) as GroupCommit does: two hosts' groups take row locks in one order.
        let group = queued.prefix(maxGroup).enumerated()
            .sorted { ($0.element.event.identity, $0.offset) < ($1.element.event.identity, $1.offset) }.map(\.element)
        queued.removeFirst(group.count)
        writing = group.count
        condition.unlock()

        // Runs of one identity's counts of one second: the store counts each run as one.
        var runs: [[Pending]] = []
        for pending in group {
            if let last = runs.last?.last, last.event.identity == pending.event.identity, last.event.at == pending.event.at {
                runs[runs.count - 1].append(pending)
            } else {
                runs.append([pending])
            }
        }
        let results = commit(runs)

        condition.lock()
        for (pending, result) in zip(group, results) {
            let identity = pending.event.identity
            guard var entry = known[identity] else { continue }
            for (counter, amount) in pending.event.counted { entry.unwritten[counter, default: 0] -= amount }
            entry.pending -= 1
            known[identity] = entry
            if case .success(let outcome) = result, let totals = outcome.totals {
                note(totals, of: identity, at: pending.event.at)
            } else if entry.pending == 0 {
                // Locked, or not counted: the next count is synchronous and reads the totals again.
                known[identity] = nil
            } else {
                known[identity]?.readAt = .min
            }
        }
        condition.unlock()
        for (pending, result) in zip(group, results) { written(pending.event, result) }
        condition.withLock {
            writing = 0
            condition.broadcast()
        }
    }

    /// One transaction for the group; if it fails, each run alone, so one run's failure is its
    /// own, until one fails alone too: then the store itself is failing, and the rest go to the
    /// backlog with that error instead of each waiting out its own timeout. One result per count.
    private func commit(_ runs: [[Pending]]) -> [Result<AccountingOutcome, any Error>] {
        // The run's last work: its identity's limits as admitted last.
        func count(_ run: [Pending]) throws -> [AccountingOutcome] { try run[run.count - 1].work(run.map(\.event)) }
        let total = runs.reduce(0) { $0 + $1.count }
        if runs.count > 1, let outcomes = try? store.atomically({ try runs.flatMap(count) }) {
            return outcomes.map { .success($0) }
        }
        var results: [Result<AccountingOutcome, any Error>] = []
        for run in runs {
            do {
                results += try store.atomically { try count(run) }.map { .success($0) }
            } catch {
                results += Array(repeating: .failure(error), count: total - results.count)
                break
            }
        }
        return results
    }
}
