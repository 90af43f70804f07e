// Both clients against scripted fakes, for what a real daemon will not do on demand: never answer,
// answer nonsense, hang up mid-answer, answer too much, or not listen at all.
import Foundation
import Glibc
import MailWardenCore
@testable import MailWardenScanners
import Testing

enum ScannerUnderTest: String, CaseIterable, Sendable {
    case spamd, rspamd

    func make(_ address: ScannerAddress, timeout: Duration = .seconds(5), maxResponseBytes: Int? = 1 << 20) -> any SpamScanner {
        let limits = ScannerLimits(connectTimeout: .seconds(1), timeout: timeout, maxMessageBytes: 4096,
                                   maxResponseBytes: maxResponseBytes)
        switch self {
        case .spamd: return SpamdScanner(address: address, limits: limits)
        case .rspamd: return RspamdScanner(address: address, limits: limits)
        }
    }

    /// A whole, well-formed answer that says spam, and a prefix of it that ends mid-body.
    var spamAnswer: (whole: String, cut: String) {
        switch self {
        case .spamd:
            return ("SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS",
                    "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,")
        case .rspamd:
            let body = RspamdAnswerTests.gtubeJSON
            return (RspamdAnswerTests.http(body), String(RspamdAnswerTests.http(body).dropLast(20)))
        }
    }
}

let sampleRequest = ScanRequest(message: Array("From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n".utf8),
                          clientAddress: "192.0.2.7", envelopeFrom: "<a@example.org>", recipients: ["<b@example.net>"],
                          queueID: "4F2A1", authenticatedUser: "a@example.org")

/// Runs a scan that must fail and returns how.
func failure(of scanner: any SpamScanner) -> ScanFailure? {
    do {
        let result = try scanner.scan(sampleRequest)
        Issue.record("expected a failure, got \(result)")
        return nil
    } catch {
        return error
    }
}

@Suite struct ScannerEdgeCaseTests {
    @Test(arguments: ScannerUnderTest.allCases)
    func aWellFormedAnswerOverTCPGivesAResultWithLatency(kind: ScannerUnderTest) throws {
        let fake = try FakeScanner.answering(kind.spamAnswer.whole)
        let result = try kind.make(fake.address).scan(sampleRequest)
        #expect(result.isSpam)
        #expect(result.symbols.contains("GTUBE"))
        #expect(result.latencyMicroseconds > 0)
        #expect(fake.request().hasSuffix("\r\n\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"))
    }

    @Test func aUnixSocketScannerIsAskedTheSameWay() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-scan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = try FakeScanner(.answer([Array(ScannerUnderTest.spamd.spamAnswer.whole.utf8)]),
                                   unixPath: dir.appendingPathComponent("spamd.sock").path)
        #expect(try ScannerUnderTest.spamd.make(fake.address).scan(sampleRequest).score == 1000)
        #expect(fake.request() == "SYMBOLS SPAMC/1.5\r\nContent-length: \(sampleRequest.message.count)\r\n\r\n"
                + String(decoding: sampleRequest.message, as: UTF8.self))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func aScannerThatNeverAnswersTimesOut(kind: ScannerUnderTest) throws {
        let fake = try FakeScanner(.silent)
        #expect(failure(of: kind.make(fake.address, timeout: .milliseconds(300))) == .timedOut(.reply, after: .milliseconds(300)))
        _ = fake.request()
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func garbageFailsWithAnExcerpt(kind: ScannerUnderTest) throws {
        let fake = try FakeScanner.answering("220 mail.example ESMTP Postfix\r\n")
        #expect(failure(of: kind.make(fake.address)) == .garbled(excerpt: "220 mail.example ESMTP Postfix\\r\\n"))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func aCloseMidAnswerIsClosedEarly(kind: ScannerUnderTest) throws {
        let cut = kind.spamAnswer.cut
        let fake = try FakeScanner.answering(cut)
        #expect(failure(of: kind.make(fake.address)) == .closedEarly(receivedBytes: cut.utf8.count))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func anAnswerSplitOverManyReadsIsPutTogether(kind: ScannerUnderTest) throws {
        let whole = Array(kind.spamAnswer.whole.utf8)
        let fake = try FakeScanner(.answer(stride(from: 0, to: whole.count, by: 17).map { Array(whole[$0..<min($0 + 17, whole.count)]) }))
        #expect(try kind.make(fake.address).scan(sampleRequest).isSpam)
    }

    @Test func rspamdAnsweringInChunksInPiecesIsUnderstood() throws {
        let answer = Array(RspamdAnswerTests.chunked(RspamdAnswerTests.gtubeJSON).utf8)
        let fake = try FakeScanner(.answer([Array(answer[..<60]), Array(answer[60..<150]), Array(answer[150...])]))
        let result = try ScannerUnderTest.rspamd.make(fake.address).scan(sampleRequest)
        #expect(result.action == "reject")
        #expect(result.symbols == ["GTUBE"])
    }

    @Test func spamdErrorCodesAreScannerErrors() throws {
        let fake = try FakeScanner.answering("SPAMD/1.0 76 Bad header line: (Content-length mismatch: 44 vs. 2)\r\n")
        #expect(failure(of: ScannerUnderTest.spamd.make(fake.address))
                == .scannerError("SPAMD/1.0 76 Bad header line: (Content-length mismatch: 44 vs. 2)"))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func anOversizedAnswerIsCutOff(kind: ScannerUnderTest) throws {
        // Headers that never end: only the size bound stops the reading.
        let start = kind == .spamd ? "SPAMD/1.1 0 EX_OK\r\n" : "HTTP/1.1 200 OK\r\n"
        let fake = try FakeScanner(.answer([Array(start.utf8), Array(String(repeating: "X-Pad: 1\r\n", count: 20_000).utf8)]))
        #expect(failure(of: kind.make(fake.address, maxResponseBytes: 65536)) == .responseTooBig(limit: 65536))
        _ = fake.request()
    }

    /// A unix socket whose queue is full refuses a non-blocking connect with EAGAIN at once: that is
    /// a scanner busy for a moment, waited for until scanner_connect_timeout, not one that is missing.
    @Test func aUnixScannerWithAFullQueueIsWaitedFor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mw-full-\(getpid()).sock").path
        unlink(path)
        defer { unlink(path) }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var local = sockaddr_un()
        local.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &local.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0 && listen(listener, 0) == 0)
        // One connection never accepted fills a queue of 0.
        let first = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(first) }
        #expect(withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(first, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } } == 0)
        let started = ContinuousClock.now
        #expect(failure(of: ScannerUnderTest.spamd.make(.unix(path: path))) == .timedOut(.connect, after: .seconds(1)))
        #expect(ContinuousClock.now - started >= .milliseconds(900), "it waited for scanner_connect_timeout")
    }

    /// rspamd's answer lists every URL host and address of the message, so a big message's answer
    /// passed 1 MiB and failed: its spam counted as unscanned. The bound now grows with scanner_max_size.
    @Test func rspamdsAnswerAboutABigMessageIsRead() throws {
        let emails = (0..<10_000).map { "\"someone-\($0)-" + String(repeating: "x", count: 160) + "@example.org\"" }.joined(separator: ",")
        let body = #"{"is_skipped":false,"score":20.0,"required_score":15.0,"action":"reject","symbols":{},"emails":["# + emails + "]}"
        #expect(body.utf8.count > 1_800_000)
        let fake = try FakeScanner(.answer([Array(RspamdAnswerTests.http(body).utf8)]))
        let limits = ScannerLimits(connectTimeout: .seconds(1), timeout: .seconds(5), maxMessageBytes: 4_000_000)
        let result = try RspamdScanner(address: fake.address, limits: limits).scan(sampleRequest)
        #expect(result.isSpam && result.action == "reject")
        _ = fake.request()
    }

    /// A scanner that keeps sending a little, never a whole answer, is given up on at the timeout:
    /// the deadline was checked only when nothing had arrived, and re-reading a long answer between
    /// bytes took longer than the gaps, so the reads never waited.
    @Test(arguments: ScannerUnderTest.allCases)
    func aTricklingAnswerTimesOut(kind: ScannerUnderTest) throws {
        let status = kind == .spamd ? "SPAMD/1.1 0 EX_OK\r\n" : "HTTP/1.1 200 OK\r\n"
        let fields = String(repeating: "X-Padding: \(String(repeating: "p", count: 100))\r\n", count: 6000)
        let fake = try FakeScanner(.trickle(prefix: Array((status + fields + "X-Last: ").utf8), seconds: 8))
        let started = ContinuousClock.now
        let failed = failure(of: kind.make(fake.address, timeout: .seconds(1), maxResponseBytes: 1 << 20))
        guard case .timedOut(.reply, _) = failed else { Issue.record("\(String(describing: failed))"); return }
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func aFloodOfNonsenseStopsAtTheExcerpt(kind: ScannerUnderTest) throws {
        // Fails on the first bytes instead of reading 4 MiB (or waiting for a line end).
        let fake = try FakeScanner(.flood(4 << 20))
        let failure = failure(of: kind.make(fake.address))
        _ = fake.request()
        guard case .garbled(let excerpt) = failure else {
            Issue.record("expected garbled, got \(String(describing: failure))")
            return
        }
        #expect(excerpt.hasPrefix("xxxxxxxx"))
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func nothingListeningIsRefused(kind: ScannerUnderTest) throws {
        let (unused, address) = try loopbackSocket()
        close(unused)
        #expect(failure(of: kind.make(address)) == .refused)
        #expect(failure(of: kind.make(.unix(path: "/nonexistent/mailwarden-test.sock"))) == .refused)
    }

    @Test func aFullListenQueueTimesOutTheConnect() throws {
        // Backlog 0 queues one connection; the kernel drops the next SYN, so that connect waits.
        let (listener, address) = try loopbackSocket()
        defer { close(listener) }
        try #require(listen(listener, 0) == 0)
        let queued = try ScannerConnection.connect(to: address, within: .seconds(1))
        let limits = ScannerLimits(connectTimeout: .milliseconds(200), timeout: .seconds(1), maxMessageBytes: 4096)
        #expect(failure(of: SpamdScanner(address: address, limits: limits)) == .timedOut(.connect, after: .milliseconds(200)))
        _ = consume queued
    }

    @Test(arguments: ScannerUnderTest.allCases)
    func aMessageOverTheSizeLimitIsNotSent(kind: ScannerUnderTest) {
        // Nothing listens here; the size check comes first.
        let big = ScanRequest(message: [UInt8](repeating: 65, count: 4097))
        #expect(throws: ScanFailure.messageTooBig(size: 4097, limit: 4096)) {
            try kind.make(.unix(path: "/nonexistent/mailwarden-test.sock")).scan(big)
        }
    }
}
