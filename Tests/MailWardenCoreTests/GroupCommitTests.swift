import Foundation
import Synchronization
import Testing
import MailWardenCore

/// Counts of messages that end at the same moment share one transaction. What a user sees: every
/// message counted exactly once, each with its own outcome, and a count that fails fails alone.
@Suite struct GroupCommitTests {
    /// A store that holds each transaction for a while, as a commit does, so that callers queue;
    /// writes become visible only when their transaction commits.
    final class SlowStore: TransactionalStore, @unchecked Sendable {
        private let lock = NSRecursiveLock()
        private var depth = 0
        private var pending: [Int] = []
        private(set) var committed: [Int] = []
        private(set) var transactions = 0

        func atomically<T>(_ body: () throws -> T) throws -> T {
            try lock.withLock {
                depth += 1
                defer { depth -= 1 }
                guard depth == 1 else { return try body() }
                transactions += 1
                pending = []
                Thread.sleep(forTimeInterval: 0.05)
                let value = try body()
                committed += pending
                return value
            }
        }

        func write(_ value: Int) { lock.withLock { pending.append(value) } }
    }

    struct Refused: Error {}

    /// Runs `work(i)` for i in 0..<n on n threads released together; returns each one's result.
    static func concurrently(_ n: Int, _ work: @escaping @Sendable (Int) throws -> Int) -> [Result<Int, any Error>] {
        let results = Mutex<[Int: Result<Int, any Error>]>([:])
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        for i in 0..<n {
            Thread {
                start.wait()
                let r = Result { try work(i) }
                results.withLock { $0[i] = r }
                done.signal()
            }.start()
        }
        for _ in 0..<n { start.signal() }
        for _ in 0..<n { _ = done.wait(timeout: .now() + 30) }
        return results.withLock { r in (0..<n).map { r[$0] ?? .failure(Refused()) } }
    }

    /// `n` counts through one GroupCommit at once: count i writes i and returns `value(i)`.
    static func counts(_ n: Int, key: @escaping @Sendable (Int) -> String,
                       value: @escaping @Sendable (Int) throws -> Int) -> (SlowStore, [Result<Int, any Error>]) {
        let store = SlowStore()
        let commits = GroupCommit<Int>(store: store)
        let results = concurrently(n) { i in
            try commits.run(key: key(i)) {
                store.write(i)
                return try value(i)
            }
        }
        return (store, results)
    }

    @Test func concurrentCountsShareTransactionsAndEachGetsItsOwnValue() throws {
        let (store, results) = Self.counts(16, key: { "id\($0 % 3)" }, value: { $0 * 10 })
        #expect(results.map { try? $0.get() } == (0..<16).map { $0 * 10 })
        #expect(store.committed.sorted() == Array(0..<16), "each count committed exactly once")
        #expect(store.transactions < 16, "counts that waited for the store shared a transaction (\(store.transactions) for 16)")
    }

    @Test func aCountThatFailsFailsAloneAndTheOthersAreCountedOnce() throws {
        let (store, results) = Self.counts(12, key: { "id\($0)" }, value: { i in
            if i == 7 { throw Refused() }
            return i
        })
        for (i, result) in results.enumerated() {
            if i == 7 {
                #expect(throws: Refused.self) { try result.get() }
            } else {
                #expect(try result.get() == i)
            }
        }
        #expect(store.committed.sorted() == (0..<12).filter { $0 != 7 }, "nothing of the failed count is kept; no other count is lost or doubled")
    }
}
