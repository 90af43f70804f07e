// Log output for the daemon: stderr (journald adds its own time stamps; a terminal gets ours) or
// syslog's mail facility, beside Postfix's own lines. swift-log has no such backend in our package set.
import Foundation
import Glibc
import Logging
import MailWardenCore

/// Severity words as Postfix uses them: info, warning, error, fatal.
private func word(_ level: Logger.Level) -> String {
    switch level {
    case .trace, .debug: return "debug"
    case .info, .notice: return "info"
    case .warning: return "warning"
    case .error: return "error"
    case .critical: return "fatal"
    }
}

struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// Under systemd, journald stamps each line (and takes its priority from its `<N>`); elsewhere we do.
    let stamped = !JournalPriority.standardErrorIsJournal
    /// `mailwardend[PID]: `, made once (the daemon does not fork after it starts logging).
    private let tag = "mailwardend[\(getpid())]: "

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // RFC3339.format is plain arithmetic: no formatter allocated per line on the message path.
        let severity = word(event.level)
        var line = JournalPriority.prefix(forSeverity: severity, on: 2)
        line.reserveCapacity(200)
        if stamped {
            line += RFC3339.format(Int64(Date().timeIntervalSince1970))
            line += " "
        }
        line += tag
        line += severity
        line += ": "
        line += event.message.description
        line += "\n"
        // write(2) on fd 2: one call per line, so lines from worker threads do not interleave.
        line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}

struct SyslogLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init() {
        openlog("mailwardend", LOG_PID | LOG_NDELAY, LOG_MAIL)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let priority: Int32 = switch event.level {
        case .trace, .debug: LOG_DEBUG
        case .info, .notice: LOG_INFO
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .critical: LOG_CRIT
        }
        let text = "\(word(event.level)): \(event.message)"
        withVaList([text]) { vsyslog(priority, "%s", $0) }
    }
}
