// Mail to abuse_mailboxes goes from the milter to the abuse desk: one report per message, stored
// before the milter answers, under the config snapshot of the session that received it.
import MailWardenCore
import MailWardenDesk
import MailWardenMilter
import MailWardenStore

struct DeskIntake: ReportIntake {
    let store: SQLiteStore
    let clock: WallClock

    func ingest(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?, config: Config) throws -> String {
        try AbuseDesk(config: config, cases: store, policy: store, clock: clock)
            .ingest(raw, sender: sender, recipient: recipients.first).logSummary
    }
}
