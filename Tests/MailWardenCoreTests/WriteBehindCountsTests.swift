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
}
