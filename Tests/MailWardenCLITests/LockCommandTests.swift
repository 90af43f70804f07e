import Foundation
import MailWardenCore
import MailWardenStore
import Testing

@Suite struct LockCommandTests {
    @Test func lockShowsInLocksAsManualThenUnlockEmptiesThem() throws {
        let sandbox = try CLISandbox()
        let lock = try sandbox.run("lock", "sasl:carol@example.net", "--reason", "phished password")
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(lock.stdout == "locked sasl:carol@example.net\n")

        let locks = try sandbox.run("locks", "--json").jsonArray()
        #expect(locks.count == 1)
        #expect(locks.first?["identity"] as? String == "sasl:carol@example.net")
        #expect(locks.first?["automatic"] as? Bool == false)
        #expect(locks.first?["reason"] as? String == "phished password")
        #expect(locks.first?["locked_by"] as? String == CLISandbox.user)
        #expect(locks.first?["expires_at"] is NSNull)
        let lockedAt = try #require(locks.first?["locked_at"] as? String)
        #expect(lockedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "RFC 3339 UTC: \(lockedAt)")

        let table = try sandbox.run("locks")
        #expect(table.lines.first == "IDENTITY                LOCKED AT             LOCKED BY  EXPIRES AT  ATTEMPTS  REASON")
        #expect(table.lines[1].hasPrefix("sasl:carol@example.net  \(lockedAt)  tester     -                  0  phished password"))

        let unlock = try sandbox.run("unlock", "sasl:carol@example.net", "--reason", "password reset")
        #expect(unlock.status == 0, "\(unlock.stderr)")
        #expect(try sandbox.run("locks", "--json").stdout == "[]\n")
        #expect(try sandbox.run("locks").stdout == "no active locks\n")
    }

    /// The milter names this sender sasl:mallory@example.net: a lock on another spelling, or under a
    /// prefix no rule gives, would show in `locks` and refuse nothing. An identity the store has
    /// seen (named by a rule since removed) can still be locked.
    @Test func lockingANameNoRuleGivesIsRefusedWithTheNameTheRuleGives() throws {
        let sandbox = try CLISandbox()
        let capitals = try sandbox.run("lock", "sasl:Mallory@Example.NET", "--reason", "compromised")
        #expect(capitals.status == 1)
        #expect(capitals.stderr == "Error: sasl:Mallory@Example.NET is not an identity MailWarden has seen, and identity_rule sasl lower-cases what it names: sasl:mallory@example.net\n")
        let prefix = try sandbox.run("exempt", "smtp:mallory@example.net")
        #expect(prefix.status == 1)
        #expect(prefix.stderr.contains("no identity_rule names identities smtp:… (this config's prefixes: sasl)"), "\(prefix.stderr)")
        #expect(try sandbox.run("limits", "Web:x", "--messages", "5/1h").status == 1)
        #expect(try sandbox.run("locks").stdout == "no active locks\n")

        _ = try sandbox.store().recordComplaint(identity: "web:Legacy", reporter: "isp.example", reportID: 1, at: 1_000, window: .days(1))
        let seen = try sandbox.run("lock", "web:Legacy", "--reason", "old rule's customer")
        #expect(seen.status == 0, "\(seen.stderr)")
        #expect(try sandbox.run("lock", "sasl:mallory@example.net", "--reason", "before it sends").status == 0)
    }

    @Test func unlockingAnIdentityThatIsNotLockedFailsWithAHint() throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run("unlock", "sasl:x@example.net")
        #expect(run.status == 1)
        #expect(run.stderr.contains("sasl:x@example.net is not locked (see 'mailwarden locks')"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func lockingALockedIdentityKeepsTheFirstLockAndFails() throws {
        let sandbox = try CLISandbox()
        #expect(try sandbox.run("lock", "sasl:d@example.net", "--reason", "first", "--by", "alice").status == 0)
        let again = try sandbox.run("lock", "sasl:d@example.net", "--reason", "second")
        #expect(again.status == 1)
        #expect(again.stderr.contains("is already locked") && again.stderr.contains("by alice: first"), "\(again.stderr)")
        #expect(try sandbox.run("locks", "--json").jsonArray().first?["reason"] as? String == "first")
    }

    @Test func lockForADurationSetsItsExpiry() throws {
        let sandbox = try CLISandbox()
        let before = Int64(Date().timeIntervalSince1970)
        #expect(try sandbox.run("lock", "sasl:e@example.net", "--reason", "cool off", "--for", "2h").status == 0)
        let lock = try #require(try sandbox.store().activeLocks().first)
        let expiry = try #require(lock.expiresAt)
        #expect(expiry - lock.lockedAt == 7200 && lock.lockedAt >= before)
    }

    @Test(arguments: [
        ["lock", "sasl:e@example.net", "--reason", "x", "--for", "soon"],
        ["lock", "alice@example.net", "--reason", "x"],
        ["lock", "sasl:e@example.net", "--reason", " "],
        ["unlock"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run(arguments: arguments)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(try sandbox.store().activeLocks().isEmpty)
    }

    @Test func heldListsQueueIDsWithPostsuperCommands() throws {
        let sandbox = try CLISandbox()
        let store = try sandbox.store()
        _ = try store.lock(LockRecord(identity: "local:www-data", lockedAt: 1_700_000_000, lockedBy: "auto", automatic: true, reason: "spam"))
        try store.recordLockedAttempt(identity: "local:www-data", at: 1_700_000_100, heldQueueID: "4XbQk1zVmMz")
        try store.recordLockedAttempt(identity: "local:www-data", at: 1_700_000_200, heldQueueID: "4XbQk2aBcDe")

        let held = try sandbox.run("held", "local:www-data", "--json").jsonArray()
        #expect(held.map { $0["queue_id"] as? String } == ["4XbQk1zVmMz", "4XbQk2aBcDe"])
        #expect(held.first?["held_at"] as? String == "2023-11-14T22:15:00Z")

        let table = try sandbox.run("held", "local:www-data")
        #expect(table.stdout == """
            QUEUE ID     HELD AT               LOCK ID
            4XbQk1zVmMz  2023-11-14T22:15:00Z        1
            4XbQk2aBcDe  2023-11-14T22:16:40Z        1

            Release (deliver) them with:
            postsuper -H 4XbQk1zVmMz
            postsuper -H 4XbQk2aBcDe
            or delete them with:
            postsuper -d 4XbQk1zVmMz
            postsuper -d 4XbQk2aBcDe

            """)
        #expect(try sandbox.run("held", "sasl:nobody@example.net").stdout == "no held messages for sasl:nobody@example.net\n")
    }

    @Test func changesAreAudited() throws {
        let sandbox = try CLISandbox()
        #expect(try sandbox.run("lock", "sasl:f@example.net", "--reason", "r1").status == 0)
        #expect(try sandbox.run("unlock", "sasl:f@example.net", "--reason", "r2", "--by", "bob").status == 0)
        #expect(try sandbox.run("limits", "sasl:f@example.net", "--messages", "10/1h").status == 0)
        #expect(try sandbox.run("exempt", "sasl:f@example.net").status == 0)

        let audit = try sandbox.run("audit", "--since", "1h", "--json").jsonArray()
        #expect(audit.map { $0["action"] as? String } == ["lock", "unlock", "limits", "exempt"])
        #expect(audit.map { $0["actor"] as? String } == [CLISandbox.user, "bob", CLISandbox.user, CLISandbox.user])
        #expect(audit.map { $0["detail"] as? String } == ["r1", "r2", "messages=10/1h", nil])
        #expect(audit.allSatisfy { $0["identity"] as? String == "sasl:f@example.net" })
    }
}
