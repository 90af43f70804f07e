// The answer parsers on bytes alone, no socket: what spamd and rspamd really send (see
// shared/recipes/scanners-offline.md), their framings, and what must fail at once.
import Testing
import MailWardenCore
@testable import MailWardenScanners

@Suite struct SpamdAnswerTests {
    static let complete: [(String, ScanResult)] = [
        ("SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS",
         ScanResult(scanner: "spamd", isSpam: true, score: 1000, requiredScore: 5, action: nil,
                    symbols: ["GTUBE", "NO_RECEIVED", "NO_RELAYS"], latencyMicroseconds: 0)),
        ("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; -0.0 / 5.0\r\n\r\n",
         ScanResult(scanner: "spamd", isSpam: false, score: 0, requiredScore: 5, action: nil, symbols: [], latencyMicroseconds: 0)),
        ("SPAMD/1.1 0 EX_OK\r\nContent-length: 29\r\nSpam: Yes ; 6.1 / 5.0\r\n\r\nTVD_SPACE_RATIO, MISSING_DATEjunk",
         ScanResult(scanner: "spamd", isSpam: true, score: 6.1, requiredScore: 5, action: nil,
                    symbols: ["MISSING_DATE", "TVD_SPACE_RATIO"], latencyMicroseconds: 0)),
    ]

    @Test(arguments: complete)
    func aCompleteAnswerIsParsedAndNothingBeyondContentLengthIsRead(answer: String, expected: ScanResult) throws {
        #expect(try SpamdScanner.parseAnswer(Array(answer.utf8), ended: false) == expected)
    }

    @Test func withoutContentLengthTheBodyRunsToTheClose() throws {
        let answer = Array("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 7.0 / 5.0\r\n\r\nA,B".utf8)
        #expect(try SpamdScanner.parseAnswer(answer, ended: false) == nil)
        #expect(try SpamdScanner.parseAnswer(answer, ended: true)?.symbols == ["A", "B"])
    }

    @Test(arguments: ["", "SPA", "SPAMD/1.1 0 EX", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\n",
                      "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,"])
    func anUnfinishedAnswerAsksForMore(answer: String) throws {
        #expect(try SpamdScanner.parseAnswer(Array(answer.utf8), ended: false) == nil)
    }

    static let failures: [(String, ScanFailure)] = [
        ("SPAMD/1.0 76 Bad header line: (Content-length mismatch: 10 vs. 2)\r\n",
         .scannerError("SPAMD/1.0 76 Bad header line: (Content-length mismatch: 10 vs. 2)")),
        ("SPAMD/1.0 65 EX_DATAERR\r\n", .scannerError("SPAMD/1.0 65 EX_DATAERR")),
        ("HTTP/1.1 200 OK\r\n", .garbled(excerpt: "HTTP/1.1 200 OK\\r\\n")),
        ("SPAMD/1.1 zero EX_OK\r\n", .garbled(excerpt: "SPAMD/1.1 zero EX_OK\\r\\n")),
        ("SPAMD/1.1 0 EX_OK\r\nSpam: maybe ; 1 / 5\r\n\r\n",
         .garbled(excerpt: "no valid Spam: field in `SPAMD/1.1 0 EX_OK\\r\\nSpam: maybe ; 1 / 5\\r\\n\\r\\n`")),
        ("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nContent-length: lots\r\n\r\n", .garbled(excerpt: "Content-Length: lots")),
        ("SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n", .garbled(excerpt: "no colon here")),
    ]

    @Test(arguments: failures)
    func anErrorOrNonsenseFailsAtOnce(answer: String, failure: ScanFailure) {
        #expect(throws: failure) { try SpamdScanner.parseAnswer(Array(answer.utf8), ended: false) }
    }

    @Test func anEndlessStatusLineIsNotWaitedFor() {
        let answer = Array(("SPAMD/" + String(repeating: "9", count: 2000)).utf8)
        #expect(throws: ScanFailure.self) { try SpamdScanner.parseAnswer(answer, ended: false) }
    }

    /// No User: spamd would judge a customer's mail by the customer's own user_prefs.
    @Test func theRequestCarriesTheExactLengthAndNoUser() {
        let request = ScanRequest(message: Array("Subject: hi\r\n\r\nbody\r\n".utf8), authenticatedUser: "alice@example.org")
        #expect(String(decoding: SpamdScanner.requestHead(for: request), as: UTF8.self)
                == "SYMBOLS SPAMC/1.5\r\nContent-length: 21\r\n\r\n")
    }
}

@Suite struct RspamdAnswerTests {
    static let gtubeJSON = """
        {"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject",\
        "symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0}},"messages":{"smtp_message":"Gtube pattern"}}
        """

    static func http(_ body: String, status: String = "200 OK") -> String {
        "HTTP/1.1 \(status)\r\nConnection: close\r\nServer: rspamd/3.4\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func chunked(_ body: String) -> String {
        let half = body.utf8.count / 2
        let first = String(body.prefix(half)), second = String(body.dropFirst(half))
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(first.utf8.count, radix: 16) + ";ext=1\r\n\(first)\r\n"
            + String(second.utf8.count, radix: 16) + "\r\n\(second)\r\n0\r\nX-Trailer: t\r\n\r\n"
    }

    @Test(arguments: [http(gtubeJSON), chunked(gtubeJSON)])
    func rejectIsSpamWhateverTheScore(answer: String) throws {
        let result = try #require(try RspamdScanner.parseAnswer(Array(answer.utf8), ended: false))
        #expect(result == ScanResult(scanner: "rspamd", isSpam: true, score: 15, requiredScore: 15, action: "reject",
                                     symbols: ["GTUBE"], latencyMicroseconds: 0))
    }

    @Test(arguments: [("reject", true), ("rewrite subject", true), ("add header", true), ("quarantine", true),
                      ("discard", true), ("soft reject", false), ("greylist", false), ("no action", false)])
    func theActionDecides(action: String, isSpam: Bool) throws {
        let body = #"{"score":4.5,"required_score":15,"action":"\#(action)","symbols":{"B":{},"A":{}}}"#
        let result = try #require(try RspamdScanner.parseAnswer(Array(Self.http(body).utf8), ended: false))
        #expect(result.isSpam == isSpam)
        #expect(result.action == action)
        #expect(result.symbols == ["A", "B"])
    }

    @Test func everyPrefixOfAChunkedAnswerAsksForMore() throws {
        let answer = Array(Self.chunked(Self.gtubeJSON).utf8)
        for end in 0..<answer.count {
            #expect(try RspamdScanner.parseAnswer(Array(answer[..<end]), ended: false) == nil, "prefix of \(end) bytes")
        }
    }

    @Test func withoutLengthOrChunksTheBodyRunsToTheClose() throws {
        let answer = Array("HTTP/1.0 200 OK\r\n\r\n\(Self.gtubeJSON)".utf8)
        #expect(try RspamdScanner.parseAnswer(answer, ended: false) == nil)
        #expect(try RspamdScanner.parseAnswer(answer, ended: true)?.action == "reject")
    }

    static let failures: [(String, ScanFailure)] = [
        (http(#"{"error":"Cannot parse input"}"#, status: "400 Bad Request"),
         .scannerError("HTTP/1.1 400 Bad Request: Cannot parse input")),
        (http("<html>oops</html>", status: "502 Bad Gateway"), .scannerError("HTTP/1.1 502 Bad Gateway: <html>oops</html>")),
        (http("not json"), .garbled(excerpt: "no action, score and required_score in `not json`")),
        (http(#"{"score":1.0}"#), .garbled(excerpt: #"no action, score and required_score in `{"score":1.0}`"#)),
        ("SPAMD/1.1 0 EX_OK\r\n", .garbled(excerpt: "SPAMD/1.1 0 EX_OK\\r\\n")),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .garbled(excerpt: "zz\\r")),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n", .garbled(excerpt: "cd\\r\\n")),
    ]

    @Test(arguments: failures)
    func anErrorOrNonsenseFails(answer: String, failure: ScanFailure) {
        #expect(throws: failure) { try RspamdScanner.parseAnswer(Array(answer.utf8), ended: false) }
    }

    @Test func theRequestCarriesTheEnvelopeInRspamdsFields() {
        let request = ScanRequest(message: Array("Subject: hi\r\n\r\nbody\r\n".utf8), clientAddress: "192.0.2.7",
                                  clientHostname: "client.example\r\nInjected: yes", envelopeFrom: "<alice@example.org>",
                                  recipients: ["<a@example.net>", "b@example.net"], queueID: "4F2A1", authenticatedUser: "alice")
        let head = String(decoding: RspamdScanner.requestHead(for: request, address: .tcp(host: "127.0.0.1", port: 11333)), as: UTF8.self)
        #expect(head == """
            POST /checkv2 HTTP/1.1\r
            Host: 127.0.0.1:11333\r
            Content-Length: 21\r
            Connection: close\r
            IP: 192.0.2.7\r
            Hostname: client.exampleInjected: yes\r
            From: alice@example.org\r
            Rcpt: a@example.net\r
            Rcpt: b@example.net\r
            Queue-Id: 4F2A1\r
            User: alice\r
            \r

            """)
    }

    @Test func theNullSenderIsLeftOut() {
        let head = RspamdScanner.requestHead(for: ScanRequest(message: [], envelopeFrom: "<>"), address: .unix(path: "/run/r.sock"))
        #expect(!String(decoding: head, as: UTF8.self).contains("From:"))
    }
}
