import Foundation
import MailWardenCore
import MailWardenStore
import Testing

@Suite struct IdentityCommandTests {
    /// Two hours ago, so `--since 1h` leaves it out while the totals count it.
    static let now = Int64(Date().timeIntervalSince1970)
    static let earlier = now - 7200

    /// alice: 3 messages (1 spam, 6 recipients), one of them two hours ago; bob: 1 message, 10 recipients.
    static func seed(_ store: SQLStore) throws {
        let windows = Config.defaults().limits.windows
        func send(_ identity: Identity, at: Int64, recipients: Int, spam: Bool = false, messageID: String? = nil, queueID: String? = nil) throws {
            _ = try store.record(MessageEvent(identity: identity, at: at, recipients: recipients, spam: spam, messageID: messageID,
                                              queueID: queueID, recipientDomains: ["isp.example", "mail.example.org"]), windows: windows)
        }
        try send("sasl:alice@example.net", at: earlier, recipients: 1)
        try send("sasl:alice@example.net", at: now - 60, recipients: 2, spam: true)
        try send("sasl:alice@example.net", at: now - 30, recipients: 3, messageID: "<abc.123@example.net>", queueID: "4XyZ1")
        try send("sasl:bob@example.net", at: now - 10, recipients: 10)
    }

    @Test func identitiesJSONListsTotalsSortedByMessages() throws {
        let sandbox = try CLISandbox()
        try Self.seed(sandbox.store())
        let rows = try sandbox.run("identities", "--json").jsonArray()
        #expect(rows.map { $0["identity"] as? String } == ["sasl:alice@example.net", "sasl:bob@example.net"])
        let alice = try #require(rows.first)
        #expect(alice["messages"] as? Int == 3 && alice["recipients"] as? Int == 6 && alice["spam"] as? Int == 1)
        #expect(alice["complaints"] as? Int == 0 && alice["refused"] as? Int == 0 && alice["auto_locks"] as? Int == 0)
        #expect(alice["first_seen"] as? String == RFC3339.format(Self.earlier))
        #expect(alice["last_seen"] as? String == RFC3339.format(Self.now - 30))
        #expect(alice["locked"] as? Bool == false)

        let byRecipients = try sandbox.run("identities", "--sort", "recipients", "--top", "1", "--json").jsonArray()
        #expect(byRecipients.map { $0["identity"] as? String } == ["sasl:bob@example.net"])
    }

    @Test func identitiesSinceCountsOnlyThatPeriod() throws {
        let sandbox = try CLISandbox()
        try Self.seed(sandbox.store())
        let rows = try sandbox.run("identities", "--since", "1h", "--json").jsonArray()
        let alice = try #require(rows.first { $0["identity"] as? String == "sasl:alice@example.net" })
        #expect(alice["messages"] as? Int == 2 && alice["recipients"] as? Int == 5 && alice["spam"] as? Int == 1)
        #expect(alice["complaints"] == nil, "the outbound log has no complaints to count")
        #expect(try sandbox.run("identities", "--since", "1s", "--json").stdout == "[]\n")
        #expect(try sandbox.run("identities", "--since", "1s").stdout == "no identities sent mail in the last 1s\n")
    }

    @Test func identitiesCSVAndTable() throws {
        let sandbox = try CLISandbox()
        try Self.seed(sandbox.store())
        let (first, last, bobSeen) = (RFC3339.format(Self.earlier), RFC3339.format(Self.now - 30), RFC3339.format(Self.now - 10))
        #expect(try sandbox.run("identities", "--csv").stdout == """
            identity,messages,recipients,spam,complaints,refused,auto_locks,first_seen,last_seen,locked\r
            sasl:alice@example.net,3,6,1,0,0,0,\(first),\(last),no\r
            sasl:bob@example.net,1,10,0,0,0,0,\(bobSeen),\(bobSeen),no\r

            """)
        #expect(try sandbox.run("identities").stdout == """
            IDENTITY                MESSAGES  RECIPIENTS  SPAM  COMPLAINTS  REFUSED  AUTO LOCKS  FIRST SEEN            LAST SEEN             LOCKED
            sasl:alice@example.net         3           6     1           0        0           0  \(first)  \(last)  no
            sasl:bob@example.net           1          10     0           0        0           0  \(bobSeen)  \(bobSeen)  no

            """)
    }

    @Test func limitsSetAndResetShowInShow() throws {
        let sandbox = try CLISandbox(settings: "limit_messages = 50/1h\n")
        try Self.seed(sandbox.store())
        let id = "sasl:alice@example.net"
        let set = try sandbox.run("limits", id, "--messages", "5/10m", "--spam", "none")
        #expect(set.status == 0, "\(set.stderr)")

        var show = try sandbox.run("show", id, "--json").jsonObject()
        let override = try #require(show["override"] as? [String: Any])
        #expect(override["limits"] as? [String: String] == ["messages": "5/10m", "spam": "none"])
        var windows = try #require(show["windows"] as? [String: [String: Any]])
        #expect(windows["messages"]?["limit"] as? String == "5/10m" && windows["messages"]?["window"] as? String == "10m")
        #expect(windows["messages"]?["total"] as? Int == 2, "the message two hours ago is outside 10m")
        #expect(windows["messages"]?["limit_from"] as? String == "override")
        #expect(windows["spam"]?["limit"] is NSNull)
        #expect(windows["recipients"]?["limit"] as? String == "2000/1h" && windows["recipients"]?["limit_from"] as? String == "config")

        #expect(try sandbox.run("limits", id, "--reset").status == 0)
        show = try sandbox.run("show", id, "--json").jsonObject()
        #expect(show["override"] is NSNull)
        windows = try #require(show["windows"] as? [String: [String: Any]])
        #expect(windows["messages"]?["limit"] as? String == "50/1h" && windows["messages"]?["total"] as? Int == 2)
        #expect(windows["spam"]?["limit"] as? String == "10/1h" && windows["spam"]?["total"] as? Int == 1)
        #expect(try sandbox.run("limits", id, "--reset").stdout.contains("had no limits of its own"))
    }

    @Test(arguments: [["--messages", "lots"], ["--spam", "5/never"], [], ["--reset", "--messages", "5/1h"]])
    func badLimitsAreUsageErrors(options: [String]) throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run(arguments: ["limits", "sasl:a@example.net"] + options)
        #expect(run.status == 64, "\(run.stderr)")
    }

    @Test func exemptAndRemove() throws {
        let sandbox = try CLISandbox(settings: "exempt = sasl:noc@example.net\n")
        let id = "sasl:newsletter@example.net"
        #expect(try sandbox.run("exempt", id).stdout == "\(id) is exempt from locking (still counted)\n")
        var show = try sandbox.run("show", id, "--json").jsonObject()
        #expect(show["exempt"] as? Bool == true && show["exempt_by"] as? String == "override")

        #expect(try sandbox.run("exempt", id, "--remove").status == 0)
        show = try sandbox.run("show", id, "--json").jsonObject()
        #expect(show["exempt"] as? Bool == false && show["override"] is NSNull)

        let again = try sandbox.run("exempt", id, "--remove")
        #expect(again.status == 1 && again.stderr.contains("\(id) is not exempt"), "\(again.stderr)")
        let byConfig = try sandbox.run("exempt", "sasl:noc@example.net", "--remove")
        #expect(byConfig.status == 1 && byConfig.stderr.contains("config's `exempt` setting"), "\(byConfig.stderr)")
    }

    @Test func showTellsWindowsLocksAndHistory() throws {
        let sandbox = try CLISandbox()
        let store = try sandbox.store()
        try Self.seed(store)
        #expect(try sandbox.run("lock", "sasl:bob@example.net", "--reason", "first").status == 0)
        #expect(try sandbox.run("unlock", "sasl:bob@example.net", "--reason", "ok").status == 0)
        #expect(try sandbox.run("lock", "sasl:bob@example.net", "--reason", "second").status == 0)

        let show = try sandbox.run("show", "sasl:bob@example.net", "--json").jsonObject()
        #expect(show["identity"] as? String == "sasl:bob@example.net" && show["locked"] as? Bool == true)
        #expect((show["lock"] as? [String: Any])?["reason"] as? String == "second")
        let history = try #require(show["lock_history"] as? [[String: Any]])
        #expect(history.map { $0["reason"] as? String } == ["second", "first"])
        #expect(history[0]["lifted_at"] is NSNull && history[1]["lift_reason"] as? String == "ok")
        let windows = try #require(show["windows"] as? [String: [String: Any]])
        #expect(windows["messages"]?["total"] as? Int == 0, "unlock cleared the windows")

        let table = try sandbox.run("show", "sasl:alice@example.net")
        #expect(table.lines.contains("totals      3 messages, 6 recipients, 1 spam, 0 complaints, 0 refused while locked, 0 automatic locks"))
        #expect(table.lines.contains("messages    1h          2  500/1h   config"))
        #expect(table.lines.contains("no locks so far"))

        let unknown = try sandbox.run("show", "sasl:nobody@example.net")
        #expect(unknown.status == 1 && unknown.stderr.contains("has not been seen"))
    }

    @Test(arguments: ["abc.123@example.net", "<abc.123@example.net>", " <abc.123@example.net> "])
    func traceFindsTheSenderOfAMessageID(messageID: String) throws {
        let sandbox = try CLISandbox()
        try Self.seed(sandbox.store())
        let rows = try sandbox.run("trace", messageID, "--json").jsonArray()
        #expect(rows.count == 1)
        #expect(rows.first?["identity"] as? String == "sasl:alice@example.net")
        #expect(rows.first?["queue_id"] as? String == "4XyZ1")
        #expect(rows.first?["recipients"] as? Int == 3 && rows.first?["spam"] as? Bool == false)
        #expect(rows.first?["at"] as? String == RFC3339.format(Self.now - 30))
        #expect(rows.first?["message_id"] as? String == "<abc.123@example.net>")
        #expect(rows.first?["to_domains"] as? String == "isp.example,mail.example.org", "who may complain of it")
    }

    @Test func traceOfAnUnknownMessageIDSaysSo() throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run("trace", "<nope@example.net>")
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("no message with Message-ID <nope@example.net> in the outbound log"))
        #expect(try sandbox.run("trace", "<nope@example.net>", "--json").stdout == "[]\n")
    }
}
