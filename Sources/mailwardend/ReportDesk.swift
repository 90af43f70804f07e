// Mail to abuse_mailboxes goes from the milter into the report queue: raw bytes, one durable insert
// before the milter answers. mailwardend never parses a report; the desk worker (`mailwarden desk`)
// does, in a process of its own.
import MailWardenCore
import MailWardenMilter
import MailWardenStore

struct DeskIntake: ReportIntake {
    let store: any Store
    let clock: WallClock

    func enqueue(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?) throws -> String {
        let outcome = try store.enqueue(RawReport(receivedAt: clock.now(), envelopeSender: sender, envelopeRecipient: recipients.first,
                                                  queueID: queueID, raw: raw))
        switch outcome {
        case .queued(let id): return "report=\(id) status=queued"
        case .duplicate(let id): return "report=\(id) status=duplicate"
        }
    }
}
