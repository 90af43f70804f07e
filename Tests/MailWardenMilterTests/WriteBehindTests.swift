import Foundation
import Synchronization
import Testing
import MailWardenCore
import MailWardenMilter
import MailWardenStore

/// count_commit = write_behind: an identity far from its limits is answered before its count
/// commits; nearer a limit the count is synchronous, so the lock falls on the same message as without
/// it. What a user sees: the answer does not wait for the store, every accepted message is counted
/// once, and a count that fails behind the answer is kept for later, not lost.
@Suite struct WriteBehindTests {
    static let config = """
        count_commit = write_behind
        limit_messages = 10/1h
        limit_recipients = 1000/1h
        limit_spam = 1000/1h
        """

    /// A store in a fresh directory, shared by the harness (through a fault hook) and the test.
    final class SharedStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-wb-\(UUID().uuidString)")
        let store: SQLStore

        init() throws {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            store = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        }

        deinit { try? FileManager.default.removeItem(at: dir) }

        func messages(of identity: Identity) throws -> Int? { try store.identities().first { $0.identity == identity }?.messages }
    }

    @Test func theAnswerDoesNotWaitForTheCountOfAnIdentityFarFromItsLimits() throws {
        let shared = try SharedStore()
        let open = Flag()
        let recorded = Mutex(0), reads = Mutex(0)
        let h = try Harness(Self.config, store: FaultyStore(shared.store) { call in
            if call == "windowTotals" { reads.withLock { $0 += 1 } }
            guard call == "record" else { return }
            // Bounded: a count that is (wrongly) synchronous makes the test slow and fail, not hang.
            for _ in 0..<500 where !open.isSet { Thread.sleep(forTimeInterval: 0.01) }
            recorded.withLock { $0 += 1 }
        })
        #expect(h.send(.init(auth: "alice", queueID: "Q1")).0 == .accept)
        #expect(recorded.withLock { $0 } == 0, "the first message of an identity waits for a read of its totals, not for its count")
        #expect(reads.withLock { $0 } == 1)
        #expect(h.send(.init(auth: "alice", queueID: "Q2")).0 == .accept)
        #expect(recorded.withLock { $0 } == 0, "answered while its count was still waiting for the store")
        #expect(reads.withLock { $0 } == 1, "the totals read for Q1 serve the same second")
        #expect(h.filter.writeBehind.waiting == 2)
        open.set()
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(try shared.messages(of: "sasl:alice") == 2, "counted once it committed")
    }

    /// The writer is slow (a busy store): the first count near the limit waits for the identity's
    /// counts still being written, so the lock falls on the 11th message, not later.
    @Test func nearTheLimitCountsAreSynchronousAndTheCrossingMessageIsStillRefused() throws {
        let shared = try SharedStore()
        let sender = UInt(bitPattern: Int(bitPattern: pthread_self()))
        let h = try Harness(Self.config, store: FaultyStore(shared.store) { call in
            // Counts made on any other thread than the sender's are the writer's.
            if call == "record", UInt(bitPattern: Int(bitPattern: pthread_self())) != sender { Thread.sleep(forTimeInterval: 0.1) }
        })
        for n in 1...10 {
            #expect(h.send(.init(auth: "bob", queueID: "Q\(n)")).0 == .accept, "message \(n) of 10 passes")
        }
        guard case .reject = h.send(.init(auth: "bob", queueID: "Q11")).0 else { Issue.record("the 11th must be refused"); return }
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        let lock = try #require(try shared.store.state(of: "sasl:bob").lock)
        #expect(lock.counter == .messages && lock.count == 11)
        #expect(h.notifier.notices.withLock { $0 } == ["sasl:bob Q11"])
        #expect(try shared.messages(of: "sasl:bob") == 11, "each message counted once")
    }

    /// Another host sharing the store counted more than this one knew: the count written behind
    /// crosses the limit. The message is gone, but the lock is set, noticed and enforced at once.
    @Test func aCountWrittenBehindThatCrossesALimitStillLocks() throws {
        let h = try Harness(Self.config)
        #expect(h.send(.init(auth: "carol", queueID: "Q1")).0 == .accept)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        for n in 0..<20 {
            _ = try h.store.record(MessageEvent(identity: "sasl:carol", at: h.clock.now(), recipients: 1, spam: false,
                                                messageID: nil, queueID: "OTHER\(n)"), windows: [.messages: .hours(1)])
        }
        #expect(h.send(.init(auth: "carol", queueID: "Q2")).0 == .accept, "far from the limit as far as this host knew")
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        let lock = try #require(try h.store.state(of: "sasl:carol").lock)
        #expect(lock.count == 22 && lock.attempts == 0, "locked by the count; the accepted message is not an attempt")
        #expect(h.notifier.notices.withLock { $0 } == ["sasl:carol Q2"])
        #expect(h.log.all.contains { $0.contains("Q2: identity=sasl:carol locked by this message's count, written after it was accepted") })
        guard case .reject = h.send(.init(auth: "carol", queueID: "Q3")).0 else { Issue.record("the lock must hold at once"); return }
    }

    @Test func aCountTheStoreRefusesBehindTheAnswerIsCountedOnceItAnswersAgain() throws {
        let shared = try SharedStore()
        let failing = Flag()
        let h = try Harness(Self.config, store: FaultyStore(shared.store) { call in
            if failing.isSet, call == "record" || call == "atomically" { throw FailingStore.Failure() }
        })
        #expect(h.send(.init(auth: "dave", queueID: "Q1")).0 == .accept)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        failing.set()
        #expect(h.send(.init(auth: "dave", queueID: "Q2")).0 == .accept)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(h.filter.countBacklog.count == 1, "kept for later, not lost")
        #expect(h.log.all.contains { $0.hasPrefix("error:") && $0.contains("Q2: identity=sasl:dave the count of this accepted message was not written") })
        failing.clear()
        #expect(try h.filter.catchUpCounts() == 1)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(try shared.messages(of: "sasl:dave") == 2, "lost 0, duplicated 0")
    }
}

extension WriteBehindTests {
    /// A store that is away (each call waits out a timeout, then fails): the writer asks it once for
    /// the group and once for its first run (one identity's second), not once per count; every count
    /// waits in the backlog and is counted once the store answers again.
    @Test func aStoreThatIsAwayIsAskedTwicePerGroupNotOncePerCount() throws {
        let shared = try SharedStore()
        let away = Flag()
        let entered = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
        let asked = Mutex(0)
        let h = try Harness(Self.config.replacingOccurrences(of: "limit_messages = 10/1h", with: "limit_messages = 1000/1h"), store: FaultyStore(shared.store) { call in
            guard away.isSet, call == "atomically" else { return }
            let first = asked.withLock { n in defer { n += 1 }; return n == 0 }
            // The first count holds the writer until the others have queued behind it: they make one group.
            if first {
                entered.signal()
                _ = gate.wait(timeout: .now() + 10)
            }
            throw FailingStore.Failure()
        })
        #expect(h.send(.init(auth: "erin", queueID: "Q1")).0 == .accept)
        #expect(h.send(.init(auth: "finn", queueID: "F1")).0 == .accept)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        away.set()
        #expect(h.send(.init(auth: "erin", queueID: "Q2")).0 == .accept)
        #expect(entered.wait(timeout: .now() + 10) == .success)
        for n in 3...6 { #expect(h.send(.init(auth: n % 2 == 1 ? "erin" : "finn", queueID: "Q\(n)")).0 == .accept) }
        gate.signal()
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(asked.withLock { $0 } == 3, "Q2 alone; then Q3–Q6 as a group and erin's run alone (not each count alone: 6)")
        #expect(h.filter.countBacklog.count == 5)
        away.clear()
        #expect(try h.filter.catchUpCounts() == 5)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(try shared.messages(of: "sasl:erin") == 4 && shared.messages(of: "sasl:finn") == 3, "lost 0, duplicated 0")
    }
}

extension WriteBehindTests {
    /// An exempt identity (a newsletter sender, say) is counted but never locked: its counts go
    /// behind the answer however near or past its limits, and every one of them is stored.
    @Test func anExemptIdentitysCountsGoBehindPastItsLimits() throws {
        let h = try Harness(Self.config + "\nexempt = sasl:news")
        for n in 1...30 { #expect(h.send(.init(auth: "news", queueID: "Q\(n)")).0 == .accept) }
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(h.filter.writeBehind.taken == 30)
        #expect(try h.store.identities().first { $0.identity == "sasl:news" }?.messages == 30)
        #expect(try h.store.state(of: "sasl:news").lock == nil)
    }
}

extension WriteBehindTests {
    /// The writer is held on the first count it writes after `hold()` (a busy store) while the
    /// session threads answer more; `record` calls are counted.
    final class HeldWriter {
        final class Calls: Sendable { let count = Mutex(0) }

        let harness: Harness
        private let calls = Calls()
        private let holding = Flag()
        private let entered = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
        var records: Int { calls.count.withLock { $0 } }

        init(_ config: String, shared: SharedStore) throws {
            let (calls, holding, held, entered, gate) = (calls, holding, Flag(), entered, gate)
            harness = try Harness(config, store: FaultyStore(shared.store) { call in
                guard call == "record" else { return }
                calls.count.withLock { $0 += 1 }
                guard holding.isSet, !held.set() else { return }
                entered.signal()
                // Bounded: a writer never let go fails the test instead of hanging it.
                _ = gate.wait(timeout: .now() + 10)
            })
        }

        func hold() { holding.set() }

        /// Returns once the writer holds a count: what is answered next queues behind it.
        func waitUntilHolding() { #expect(entered.wait(timeout: .now() + 10) == .success, "the writer was holding a count") }

        func release() { gate.signal() }
    }

    /// One identity's counts of one second wait for the writer together: the store counts them as
    /// one (one `record`), and every message still has its own outbound row for tracing complaints.
    @Test func oneIdentitysSecondIsCountedAsOne() throws {
        let shared = try SharedStore()
        let writer = try HeldWriter(Self.config.replacingOccurrences(of: "limit_messages = 10/1h", with: "limit_messages = 1000/1h"), shared: shared)
        let h = writer.harness
        #expect(h.send(.init(auth: "fay", queueID: "Q1")).0 == .accept)
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        writer.hold()
        #expect(h.send(.init(auth: "fay", queueID: "Q2")).0 == .accept)
        writer.waitUntilHolding()
        for n in 3...8 { #expect(h.send(.init(auth: "fay", queueID: "Q\(n)")).0 == .accept) }
        writer.release()
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        #expect(writer.records == 3, "Q1, Q2 (holding the writer), Q3–Q8 as one")
        let record = try #require(try shared.store.identityRecord(of: "sasl:fay", windows: [.messages: .hours(1)], now: h.clock.now()))
        #expect(record.totals[.messages] == 8 && record.summary.messages == 8, "lost 0, duplicated 0")
        #expect(Set(record.recent.compactMap(\.queueID)) == Set((1...8).map { "Q\($0)" }), "one outbound row per message")
    }

    /// Counts merged in one second still lock on the very message that crosses: another host took
    /// gus to 8 of 10, this host answered Q2–Q5 believing him far; written as one run, Q4 is the
    /// 11th, so it locks and is named, and Q5 after it is counted but names nothing.
    @Test func aMergedRunLocksOnTheMessageThatCrosses() throws {
        let shared = try SharedStore()
        let writer = try HeldWriter(Self.config, shared: shared)
        let h = writer.harness
        #expect(h.send(.init(auth: "gus", queueID: "Q1")).0 == .accept)
        for n in 0..<7 {
            _ = try shared.store.record(MessageEvent(identity: "sasl:gus", at: h.clock.now(), recipients: 1, spam: false,
                                                     messageID: nil, queueID: "OTHER\(n)"), windows: [.messages: .hours(1)])
        }
        writer.hold()
        #expect(h.send(.init(auth: "gus", queueID: "Q2")).0 == .accept)
        writer.waitUntilHolding()
        for n in 3...5 { #expect(h.send(.init(auth: "gus", queueID: "Q\(n)")).0 == .accept, "Q\(n): far from the limit as far as this host knew") }
        writer.release()
        #expect(h.filter.writeBehind.flush(timeout: 10) == 0)
        let lock = try #require(try shared.store.state(of: "sasl:gus").lock)
        #expect(lock.count == 11 && lock.attempts == 0)
        #expect(h.notifier.notices.withLock { $0 } == ["sasl:gus Q4"])
        #expect(h.log.all.filter { $0.contains("locked by this message's count") }.count == 1)
        #expect(try shared.messages(of: "sasl:gus") == 12, "every accepted message counted once")
    }
}
