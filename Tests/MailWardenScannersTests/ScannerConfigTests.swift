// The `scanner*` settings: defaults, good lines, and a `file:line` problem for each bad one.
import Testing
@testable import MailWardenCore
import MailWardenScanners

/// Parses config text the way Config does and returns the typed scanner settings and the problems.
func scannerConfig(_ text: String) -> (ScannerConfig, [ConfigProblem]) {
    var raw = Config.RawConfig()
    var problems: [ConfigProblem] = []
    raw.read(text: text, file: "t.conf", problems: &problems)
    let config = ScannerConfig.parse(raw, file: "t.conf", problems: &problems)
    return (config, problems)
}

@Suite struct ScannerConfigTests {
    @Test func theDefaultsScanNothingAndSkipOnFailure() {
        let (c, problems) = scannerConfig("")
        #expect(problems.isEmpty)
        #expect(!c.isEnabled)
        #expect(c.connectTimeout == TimeSpan(seconds: 1))
        #expect(c.timeout == TimeSpan(seconds: 10))
        #expect(c.maxMessageSize == 1_024_000)
        #expect(c.spam == .verdict)
        #expect(c.onFailure == .skip)
        #expect(c.scope == .outbound)
        #expect(c.resultHeader == nil)
        #expect(makeScanners(c).isEmpty)
    }

    @Test func scannersAreKeptInOrderAndBuiltByKind() {
        let (c, problems) = scannerConfig("""
            scanner = rspamd 127.0.0.1:11333
            scanner = spamd unix:/run/spamd/spamd.sock
            scanner = SPAMD [::1]:783
            scanner_spam = score >= 6.5
            scanner_failure = tempfail
            scanner_scope = all
            scanner_header = X-MailWarden-Spam
            scanner_timeout = 30s
            scanner_max_size = 512000
            """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(c.scanners.map(\.description) == ["rspamd 127.0.0.1:11333", "spamd unix:/run/spamd/spamd.sock", "spamd [::1]:783"])
        #expect(makeScanners(c).map(\.label) == c.scanners.map(\.description))
        #expect(c.spam == .scoreAtLeast(6.5))
        #expect(c.onFailure == .tempfail)
        #expect(c.scope == .all)
        #expect(c.resultHeader == "X-MailWarden-Spam")
        #expect(c.timeout == TimeSpan(seconds: 30))
        #expect(c.maxMessageSize == 512_000)
    }

    static let badLines: [(String, String)] = [
        ("scanner = spamd localhost:783", "scanner takes KIND ADDRESS"),
        ("scanner = clamd 127.0.0.1:3310", "scanner takes KIND ADDRESS"),
        ("scanner = rspamd 127.0.0.1", "scanner takes KIND ADDRESS"),
        ("scanner = spamd unix:relative.sock", "scanner takes KIND ADDRESS"),
        ("scanner = spamd unix:/" + String(repeating: "d", count: 120), "scanner takes KIND ADDRESS"),
        ("scanner_connect_timeout = 0", "scanner_connect_timeout must be a duration such as 30s, 10m, 1h, 7d, from 1s to 30s"),
        ("scanner_timeout = 5m", "scanner_timeout must be a duration such as 30s, 10m, 1h, 7d, from 1s to 240s"),
        ("scanner_max_size = 1m", "scanner_max_size must be a number of bytes"),
        ("scanner_spam = score > 5", "scanner_spam must be `verdict` or `score>=N`"),
        ("scanner_failure = accept", "scanner_failure must be one of skip, tempfail"),
        ("scanner_scope = inbound", "scanner_scope must be one of outbound, all"),
        ("scanner_header = X-Spam: yes", "scanner_header must be `none` or a header name"),
    ]

    @Test(arguments: badLines)
    func aBadLineNamesFileLineAndProblem(line: String, message: String) {
        let (_, problems) = scannerConfig("# first line\n\(line)\n")
        #expect(problems.count == 1)
        #expect(problems.first?.description.hasPrefix("t.conf:2: \(message)") == true, "\(problems)")
    }

    /// rspamd's GTUBE (a spam verdict, score 15) and a spamd result of 6 under a required 8 (no verdict).
    @Test(arguments: [("verdict", true, false), ("score>=6", true, true), ("score >= 20", false, false)])
    func theSpamCriterionJudgesAResult(criterion: String, gtubeIsSpam: Bool, scoreSixIsSpam: Bool) throws {
        let judge = try #require(SpamCriterion(criterion))
        let gtube = ScanResult(scanner: "rspamd", isSpam: true, score: 15, requiredScore: 15, action: "reject",
                               symbols: ["GTUBE"], latencyMicroseconds: 1)
        let scoreSix = ScanResult(scanner: "spamd", isSpam: false, score: 6, requiredScore: 8, action: nil,
                                  symbols: [], latencyMicroseconds: 1)
        #expect(judge.isSpam(gtube) == gtubeIsSpam)
        #expect(judge.isSpam(scoreSix) == scoreSixIsSpam)
    }
}
