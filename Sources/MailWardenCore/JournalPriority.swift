// Under systemd, what a service writes to stdout or stderr goes to the journal at the unit's
// SyslogLevel (info) unless the line starts with its priority as `<N>` (sd-daemon(3)); without it
// `journalctl -p err` and priority-based alerts would never see an error.
import Foundation

public enum JournalPriority {
    /// systemd sets JOURNAL_STREAM for a service whose output goes to the journal.
    public static let isJournal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil

    /// `<N>` for a severity word as Postfix writes them (debug, info, warning, error, fatal), or ""
    /// when the output is not the journal's.
    public static func prefix(forSeverity word: some StringProtocol) -> String {
        guard isJournal else { return "" }
        return switch word {
        case "fatal": "<2>"
        case "error": "<3>"
        case "warning": "<4>"
        case "debug": "<7>"
        default: "<6>"
        }
    }
}
