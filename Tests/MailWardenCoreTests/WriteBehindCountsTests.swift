import Foundation
import Synchronization
import Testing
import MailWardenCore

/// The write-behind queue's memory of identities' totals is bounded: a full table makes room by
/// dropping the identities not counted in the last second, whose totals could not be used anyway.
@Suite struct WriteBehindCountsTests {
    struct ImmediateStore: TransactionalStore {
        func atomically<T>(_ body: () throws -> T) throws -> T { try body() }
    }

    static func event(_ identity: Identity, at time: Int64) -> MessageEvent {
        MessageEvent(identity: identity, at: time, recipients: 1, spam: false, messageID: nil, queueID: nil)
    }

    @Test func aFullTableDropsTheIdentitiesNotCountedInTheLastSecond() {
        let counts = WriteBehindCounts(store: ImmediateStore(), maxKnown: 2) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        func written(_ identity: Identity, at time: Int64) -> Bool {
            counts.admit(Self.event(identity, at: time), limits: limits) { run in run.map { _ in .pass(totals: [.messages: 2]) } } != nil
        }
        counts.noteCommitted([.messages: 1], of: "sasl:a", at: 100)
        counts.noteCommitted([.messages: 1], of: "sasl:b", at: 100)
        counts.noteCommitted([.messages: 1], of: "sasl:c", at: 100)
        #expect(!written("sasl:c", at: 100), "the table was full of identities counted this second: c is not remembered")
        #expect(written("sasl:a", at: 100))
        counts.noteCommitted([.messages: 1], of: "sasl:d", at: 102)
        #expect(written("sasl:d", at: 102), "b, not counted for two seconds, made room for d")
        #expect(counts.flush(timeout: 10) == 0)
        #expect(counts.taken == 2)
    }

    /// Counts that arrive while a group gathers share one transaction (one commit's page writes
    /// and locks), where a writer that committed each as it came would have written the first alone.
    @Test func countsArrivingWhileAGroupGathersShareOneTransaction() {
        final class CountingStore: TransactionalStore {
            let transactions = Mutex(0)
            func atomically<T>(_ body: () throws -> T) throws -> T {
                transactions.withLock { $0 += 1 }
                return try body()
            }
        }
        let store = CountingStore()
        let counts = WriteBehindCounts(store: store, maxGroup: 5, gatherInterval: 60) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        let identities: [Identity] = ["sasl:a", "sasl:b", "sasl:c", "sasl:d", "sasl:e"]
        for identity in identities { counts.noteCommitted([.messages: 1], of: identity, at: 100) }
        for (n, identity) in identities.enumerated() {
            #expect(counts.admit(Self.event(identity, at: 100), limits: limits) { run in run.map { _ in .pass(totals: [.messages: 2]) } } != nil)
            if n == 0 { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(counts.flush(timeout: 10) == 0, "a full group does not wait out the interval")
        #expect(store.transactions.withLock { $0 } == 1)
    }

    /// Whoever waits for the queued counts does not wait out the gathering: a count near a limit,
    /// which must see its identity's counts committed first, and a flush (a clean stop).
    @Test func aCountNearItsLimitAndAFlushCutTheGatheringShort() {
        let counts = WriteBehindCounts(store: ImmediateStore(), gatherInterval: 600) { _, _ in }
        let far = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        let near = LimitSet(messages: RateLimit(count: 4, window: .hours(1)))
        let work: ([MessageEvent]) throws -> [AccountingOutcome] = { run in run.map { _ in .pass(totals: [.messages: 3]) } }
        counts.noteCommitted([.messages: 1], of: "sasl:a", at: 100)
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: far, work: work) != nil)
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: near, pendingTimeout: 30, work: work) == nil, "3 of 4: counted now")
        #expect(counts.waiting == 0, "its identity's count was committed before it went on")
        counts.noteCommitted([.messages: 1], of: "sasl:b", at: 100)
        #expect(counts.admit(Self.event("sasl:b", at: 100), limits: far, work: work) != nil)
        #expect(counts.flush(timeout: 30) == 0)
    }
}
