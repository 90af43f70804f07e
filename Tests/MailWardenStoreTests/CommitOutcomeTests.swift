import Foundation
import Testing
import MailWardenCore
@testable import MailWardenStore

/// The connection to a shared PostgreSQL store breaks while a message's count is being committed.
/// The milter answers a count that failed per on_error (tempfail), and the client sends the message
/// again; so a count that took effect must be answered as counted, and one that did not as failed.
@Suite(.enabled(if: Backend.available.contains(.postgresql), "needs MW_POSTGRES"))
struct CommitOutcomeTests {
    static let hour: [Counter: TimeSpan] = [.messages: .hours(1), .recipients: .hours(1), .spam: .hours(1)]

    /// Sends one message as an MTA does under on_error = tempfail: again after each failed count
    /// (at most 3 times). Returns the attempts it took.
    func sendUntilCounted(_ store: SQLStore, identity: Identity, at: Int64) -> Int {
        for attempt in 1...3 {
            let event = MessageEvent(identity: identity, at: at, recipients: 1, spam: false, messageID: nil, queueID: "Q\(attempt)")
            if (try? store.record([event], windows: Self.hour)) != nil { return attempt }
        }
        return 4
    }

    @Test(arguments: CommitCutter.Cut.allCases)
    func aMessageIsCountedOnceWhenTheConnectionBreaksWhileCounting(_ cut: CommitCutter.Cut) throws {
        let t = try TempStore(.postgresql)
        let direct = try t.open()
        let cutter = try CommitCutter(upstream: try #require(t.conninfo))
        defer { cutter.stop() }
        let milter = try SQLStore(database: PostgreSQLDatabase(conninfo: cutter.conninfo))
        #expect(sendUntilCounted(milter, identity: "sasl:a", at: 100) == 1, "no fault yet")

        cutter.arm(cut)
        // A statement's text crosses the wire once per connection, when it is prepared: a host started anew.
        let attempts = sendUntilCounted(cut == .statementLost ? try SQLStore(database: PostgreSQLDatabase(conninfo: cutter.conninfo)) : milter,
                                        identity: "sasl:a", at: 101)
        #expect(cutter.cuts == 1)
        switch cut {
        case .answerLost:
            #expect(attempts == 1, "the commit took effect: the message is answered as counted, not retried")
        case .commitLost, .statementLost:
            // The abandoned transaction would hold the identity's rows until the server's idle
            // timeout (10 s), failing the retry on lock_timeout; it is ended instead.
            #expect(attempts == 2, "the commit never arrived: the message fails once, and its retry is counted")
        }
        // Messages counted in the hour: the two sent, each once, and this third.
        let totals = try direct.record([MessageEvent(identity: "sasl:a", at: 102, recipients: 1, spam: false, messageID: nil, queueID: "Q3")],
                                       windows: Self.hour)
        let duplicated = (totals[.messages] ?? 0) - 3
        print("commit cut (\(cut)): attempts \(attempts), messages lost \(max(0, -duplicated)), duplicated \(max(0, duplicated))")
        #expect(totals[.messages] == 3)
    }
}
