// Who is told about an automatic lock, and what it says about the cause: the milter locks on a
// message (its queue id), the desk worker on complaints (the reports that crossed the limit).

/// What made an automatic lock.
public enum LockCause: Sendable, Equatable {
    /// The message that crossed a limit, by its MTA queue id when known.
    case message(queueID: String?)
    /// The complaints counted in the window when the limit was crossed, by report id.
    case complaints(reportIDs: [Int64])
}

/// Tells the outside world about a new automatic lock (mail, command); must never block the caller.
public protocol LockNotifier: Sendable {
    func identityLocked(_ lock: LockRecord, cause: LockCause)
}

extension LockCause {
    /// The cause's fields in the lock notice's JSON (notify_command's stdin).
    public var jsonFields: [(String, JSONValue)] {
        switch self {
        case .message(let queueID): [("queue_id", .text(queueID))]
        case .complaints(let reportIDs): [("report_ids", .array(reportIDs.map(JSONValue.number)))]
        }
    }
}
