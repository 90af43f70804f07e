// Group commit for the counts of messages that end at the same moment: one transaction, and one
// commit, for all of them instead of one each (as PostgreSQL and MySQL group their commits). It has
// no thread of its own: the first caller leads and runs its work at once; callers that arrive while
// a group runs queue up, and once it has committed the first of them leads the next group with
// everything queued. With nothing else in flight a count runs as it would alone; under load the
// store's cost per transaction (BEGIN, COMMIT, the WAL's page writes, a network round trip each) is
// shared by the group.
import Foundation

public final class GroupCommit<Value: Sendable>: @unchecked Sendable {
    /// One caller's work and, once its group has run, what came of it.
    private final class Entry {
        enum Outcome {
            case done(Result<Value, any Error>)
            /// The group failed: the caller runs its work again on its own.
            case runAlone
        }

        let key: String
        let work: () throws -> Value
        var outcome: Outcome?

        init(key: String, work: @escaping () throws -> Value) {
            self.key = key
            self.work = work
        }
    }

    private let store: any TransactionalStore
    /// The most entries one transaction runs: bounds how long one group holds the store.
    private let maxGroup: Int
    private let condition = NSCondition()
    private var queued: [Entry] = []
    private var leading = false

    public init(store: any TransactionalStore, maxGroup: Int = 32) {
        self.store = store
        self.maxGroup = max(maxGroup, 1)
    }

    /// Runs `work` in a transaction shared with the callers of the moment and returns its value once
    /// that transaction has committed. `work` makes store calls (they join the transaction) and
    /// pure decisions: it may run more than once, on another caller's thread.
    /// `key` orders a group: its entries run sorted by key, in arrival order within one key, so two
    /// hosts' groups take their row locks in one order and do not deadlock each other.
    /// When a group fails, each of its callers runs its work again in a transaction of its own, at
    /// the same time as the others: a count fails only for a reason of its own, and a store that is
    /// away costs each message one wait, not one per message of its group.
    public func run(key: String, _ work: @escaping () throws -> Value) throws -> Value {
        let mine = Entry(key: key, work: work)
        condition.lock()
        queued.append(mine)
        while true {
            while mine.outcome == nil && leading { condition.wait() }
            if let outcome = mine.outcome {
                condition.unlock()
                switch outcome {
                case .done(let result): return try result.get()
                case .runAlone: return try store.atomically(work)
                }
            }
            // No group is running and this caller's entry is still queued: it leads the next group
            // (its own entry is in it unless more than maxGroup queued before it; then it leads again).
            leading = true
            let group = queued.prefix(maxGroup).enumerated()
                .sorted { ($0.element.key, $0.offset) < ($1.element.key, $1.offset) }.map(\.element)
            queued.removeFirst(group.count)
            condition.unlock()
            let outcomes = runGroup(group)
            condition.lock()
            for (entry, outcome) in zip(group, outcomes) { entry.outcome = outcome }
            leading = false
            condition.broadcast()
        }
    }

    private func runGroup(_ group: [Entry]) -> [Entry.Outcome] {
        if group.count == 1 { return [.done(Result { try store.atomically(group[0].work) })] }
        do {
            return try store.atomically { try group.map { try $0.work() } }.map { .done(.success($0)) }
        } catch {
            return group.map { _ in .runAlone }
        }
    }
}
