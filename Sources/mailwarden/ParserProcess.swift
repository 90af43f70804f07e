// `mailwarden desk-parser --memory BYTES --parent PID`: the only process that reads what a stranger
// wrote to an abuse mailbox. Started by the desk worker (IsolatedParser.swift), never by hand. It
// limits its own address space before it reads anything, keeps no store or socket open, answers one
// frame per report (see IsolatedParser.swift) and exits when the worker goes away.
import Foundation
import Glibc
import MailWardenReports

enum ParserProcess {
    static func main(_ arguments: [String]) -> Never {
        var memory = 1 << 30
        var parent: pid_t = getppid()
        var args = arguments[...]
        while let arg = args.popFirst() {
            switch arg {
            case "--memory": memory = args.popFirst().flatMap { Int($0) } ?? memory
            case "--parent": parent = args.popFirst().flatMap { pid_t($0) } ?? parent
            default: break
            }
        }
        var limit = rlimit(rlim_cur: rlim_t(memory), rlim_max: rlim_t(memory))
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        guard setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
              setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore) == 0 else {
            fail("cannot limit the parser's memory: \(String(cString: strerror(errno)))")
        }
        watchParent(parent)
        while let raw = readFrame() {
            #if DEBUG
            injectTestFault(raw)
            #endif
            writeFrame(ReportFrame.encode(ReportParser.parse(raw)))
        }
        exit(0)
    }

    /// A parser stuck in a loop never reads its stdin again: if the worker dies (kill -9), this
    /// thread ends the orphan within a second.
    private static func watchParent(_ parent: pid_t) {
        Thread.detachNewThread(named: "parent-watch") {
            while getppid() == parent { sleep(1) }
            _exit(0)
        }
    }

    /// One report from stdin; nil at end of input (the worker closed its end).
    private static func readFrame() -> [UInt8]? {
        guard let header = read(8) else { return nil }
        let length = header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        // The worker never sends more than a stored report; anything larger means a broken pipe.
        guard length <= UInt64(ReportLimits.maxMessageBytes) else { fail("report frame of \(length) bytes") }
        return read(Int(length))
    }

    private static func read(_ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return out
    }

    private static func writeFrame(_ bytes: [UInt8]) {
        var length = UInt64(bytes.count).littleEndian
        let header = withUnsafeBytes(of: &length) { Array($0) }
        for part in [header, bytes] {
            var offset = 0
            while offset < part.count {
                let n = part.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + offset, part.count - offset) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { exit(0) }
                offset += n
            }
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("mailwarden desk-parser: \(message)\n".utf8))
        exit(70)
    }

    #if DEBUG
    /// Debug builds only, for the test suite: with MAILWARDEN_TEST_PARSER_FAULTS=1 in the worker's
    /// environment, a report carrying `X-MailWarden-Test-Fault: trap|loop|memory` makes this parse
    /// trap, spin or exhaust its memory, as a parser bug on a hostile input would; with
    /// MAILWARDEN_TEST_PARSER_FAULTS=all every parse traps, as a broken parser would.
    private static func injectTestFault(_ raw: [UInt8]) {
        let faults = ProcessInfo.processInfo.environment["MAILWARDEN_TEST_PARSER_FAULTS"]
        guard faults == "1" || faults == "all" else { return }
        let text = String(decoding: raw.prefix(64 << 10), as: UTF8.self)
        let marker = text.range(of: "X-MailWarden-Test-Fault: ")
        guard faults == "all" || marker != nil else { return }
        switch marker.map({ text[$0.upperBound...].prefix(while: { $0.isLetter }) }) ?? "trap" {
        case "trap":
            let huge = Int.max - Int(raw.count > 0 ? 0 : 1)
            _ = huge + raw.count
        case "loop":
            while !raw.isEmpty {}
        case "memory":
            var hoard: [[UInt8]] = []
            while true { hoard.append([UInt8](repeating: UInt8(hoard.count & 0xff), count: 64 << 20)) }
        default:
            break
        }
    }
    #endif
}
