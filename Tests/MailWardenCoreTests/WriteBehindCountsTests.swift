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

    static func work(_ run: [MessageEvent]) throws -> [AccountingOutcome] { run.map { _ in .pass(totals: [.messages: 2]) } }
    struct StoreAway: Error {}

    @Test func aFullTableDropsTheIdentitiesNotCountedInTheLastSecond() {
        let counts = WriteBehindCounts(store: ImmediateStore(), maxKnown: 2) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        var reads: [Identity] = []
        func written(_ identity: Identity, at time: Int64) -> Bool {
            counts.admit(Self.event(identity, at: time), limits: limits, read: { reads.append(identity); return [.messages: 1] }, work: Self.work) != nil
        }
        #expect(written("sasl:a", at: 100))
        #expect(written("sasl:b", at: 100))
        #expect(!written("sasl:c", at: 100), "the table was full of identities counted this second: c is not remembered")
        counts.countedNow(nil, of: "sasl:c", at: 100)
        #expect(written("sasl:a", at: 100))
        #expect(counts.flush(timeout: 10) == 0)
        #expect(written("sasl:d", at: 102), "a and b, not counted for two seconds, made room for d")
        #expect(counts.flush(timeout: 10) == 0)
        #expect(counts.taken == 4)
        #expect(reads == ["sasl:a", "sasl:b", "sasl:c", "sasl:d"], "a's totals of this second were known")
    }

    /// An identity not counted here in the last second has its committed totals read, and its
    /// count goes behind unless they are near a limit; a read that fails means counting now.
    @Test func anIdentityNotCountedLatelyHasItsTotalsReadNotItsCountMadeNow() {
        let counts = WriteBehindCounts(store: ImmediateStore(), gatherInterval: 600) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 10, window: .hours(1)))
        var reads = 0
        func admit(_ identity: Identity, at time: Int64, committed: Int?) -> [Counter: Int]? {
            counts.admit(Self.event(identity, at: time), limits: limits, read: {
                reads += 1
                guard let committed else { throw StoreAway() }
                return [.messages: committed]
            }, work: Self.work)
        }
        #expect(admit("sasl:a", at: 100, committed: 3)?[.messages] == 4, "3 committed, and this one")
        #expect(admit("sasl:a", at: 101, committed: 3)?[.messages] == 5, "read a second ago, and one waiting")
        #expect(reads == 1)
        #expect(admit("sasl:b", at: 100, committed: 5) == nil, "5 + 1 of 10 is past half: counted now")
        counts.countedNow([.messages: 6], of: "sasl:b", at: 100)
        #expect(admit("sasl:c", at: 100, committed: nil) == nil, "no totals: counted now")
        counts.countedNow(nil, of: "sasl:c", at: 100)
        #expect(reads == 3)
        #expect(counts.flush(timeout: 30) == 0)
        #expect(counts.taken == 2)
    }

    /// A read could miss a synchronous count under way, which commits after it: while one is, the
    /// identity's next messages are counted now too, until it ends and its totals are known.
    @Test func noReadWhileTheIdentityIsCountedNow() {
        let counts = WriteBehindCounts(store: ImmediateStore(), gatherInterval: 600) { _, _ in }
        let far = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        let near = LimitSet(messages: RateLimit(count: 1, window: .hours(1)))
        var reads = 0
        let read: WriteBehindCounts.ReadTotals = { reads += 1; return [.messages: 0] }
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: near, read: read, work: Self.work) == nil, "1 of 1: counted now")
        #expect(reads == 1)
        #expect(counts.admit(Self.event("sasl:a", at: 102), limits: far, read: read, work: Self.work) == nil,
                "its totals are old and the count under way is unseen: counted now, no read")
        #expect(reads == 1)
        counts.countedNow([.messages: 1], of: "sasl:a", at: 100)
        counts.countedNow([.messages: 2], of: "sasl:a", at: 102)
        #expect(counts.admit(Self.event("sasl:a", at: 102), limits: far, read: read, work: Self.work)?[.messages] == 3)
        #expect(reads == 1, "the totals of the count made now are fresh")
        #expect(counts.flush(timeout: 30) == 0)
    }

    /// A synchronous count that begins while the identity's totals are read (here: a message that
    /// gave up waiting for the read) may commit after the read's snapshot: the read is not used.
    @Test func aCountMadeNowDuringAReadSpoilsIt() {
        let counts = WriteBehindCounts(store: ImmediateStore(), gatherInterval: 600) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        let release = DispatchSemaphore(value: 0)
        let reads = Mutex(0)
        let read: @Sendable () throws -> [Counter: Int] = {
            if reads.withLock({ $0 += 1; return $0 }) == 1 { release.wait() }
            return [.messages: 0]
        }
        let readerGot = Mutex<[Counter: Int]??>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            readerGot.withLock { $0 = .some(counts.admit(Self.event("sasl:a", at: 100), limits: limits, read: read, work: Self.work)) }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.2)
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: limits, pendingTimeout: 0.2, read: read, work: Self.work) == nil,
                "it waited for the read, gave up: counted now")
        release.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(readerGot.withLock { $0 } == .some(nil), "the read may have missed that count: counted now too")
        counts.countedNow([.messages: 1], of: "sasl:a", at: 100)
        counts.countedNow([.messages: 2], of: "sasl:a", at: 100)
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: limits, read: read, work: Self.work)?[.messages] == 3)
        #expect(reads.withLock { $0 } == 1)
        #expect(counts.flush(timeout: 30) == 0)
    }

    /// The messages of an identity that arrive during its read wait for it: one read, each counted.
    @Test func messagesArrivingDuringARead() {
        let counts = WriteBehindCounts(store: ImmediateStore(), gatherInterval: 600) { _, _ in }
        let limits = LimitSet(messages: RateLimit(count: 100, window: .hours(1)))
        let reads = Mutex(0)
        let release = DispatchSemaphore(value: 0)
        let read: @Sendable () throws -> [Counter: Int] = {
            if reads.withLock({ $0 += 1; return $0 }) == 1 { release.wait() }
            return [.messages: 7]
        }
        let estimates = Mutex<[Int?]>([])
        let done = DispatchGroup()
        for _ in 0..<4 {
            done.enter()
            Thread {
                let estimate = counts.admit(Self.event("sasl:a", at: 100), limits: limits, read: read, work: Self.work)?[.messages]
                estimates.withLock { $0.append(estimate) }
                done.leave()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.3)
        release.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(reads.withLock { $0 } == 1)
        #expect(estimates.withLock { $0 }.compactMap { $0 }.sorted() == [8, 9, 10, 11])
        #expect(counts.flush(timeout: 30) == 0)
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
        for (n, identity) in identities.enumerated() {
            #expect(counts.admit(Self.event(identity, at: 100), limits: limits, read: { [.messages: 1] }, work: Self.work) != nil)
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
        let read: WriteBehindCounts.ReadTotals = { [.messages: 1] }
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: far, read: read, work: work) != nil)
        #expect(counts.admit(Self.event("sasl:a", at: 100), limits: near, pendingTimeout: 30, read: read, work: work) == nil, "3 of 4: counted now")
        #expect(counts.waiting == 0, "its identity's count was committed before it went on")
        #expect(counts.admit(Self.event("sasl:b", at: 100), limits: far, read: read, work: work) != nil)
        #expect(counts.flush(timeout: 30) == 0)
    }
}
