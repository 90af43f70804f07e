// Under systemd, what a service writes to stdout or stderr goes to the journal at the unit's
// SyslogLevel (info) unless the line starts with its priority as `<N>` (sd-daemon(3)); without it
// `journalctl -p err` and priority-based alerts would never see an error.
import Foundation
import Glibc

public enum JournalPriority {
    /// Whether file descriptor `fd` is the stream systemd connected to the journal: JOURNAL_STREAM
    /// names its device and inode; a file or pipe the output was redirected to is not.
    static func isJournal(_ fd: Int32) -> Bool {
        guard let named = ProcessInfo.processInfo.environment["JOURNAL_STREAM"]?.split(separator: ":"), named.count == 2,
              let device = UInt64(named[0]), let inode = UInt64(named[1]) else { return false }
        var info = stat()
        return fstat(fd, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    public static let standardOutputIsJournal = isJournal(1)
    public static let standardErrorIsJournal = isJournal(2)

    static let severities: Set<Substring> = ["debug", "info", "warning", "error", "fatal"]

    /// `<N>` for a line that may start with its severity word and a colon (`warning: …`), else is
    /// `unmarked`; "" when `fd` (1 or 2) does not go to the journal.
    public static func prefix(forLine line: String, unmarked: String, on fd: Int32) -> String {
        let word = line.prefix { $0 != ":" }
        return prefix(forSeverity: severities.contains(word) ? word : Substring(unmarked), on: fd)
    }

    /// `<N>` for a severity word as Postfix writes them (debug, info, warning, error, fatal), or ""
    /// when `fd` (1 or 2) does not go to the journal.
    public static func prefix(forSeverity word: some StringProtocol, on fd: Int32) -> String {
        guard fd == 1 ? standardOutputIsJournal : standardErrorIsJournal else { return "" }
        return switch word {
        case "fatal": "<2>"
        case "error": "<3>"
        case "warning": "<4>"
        case "debug": "<7>"
        default: "<6>"
        }
    }
}
