// Against the REAL daemons started by Tests/scanners/start-scanners.sh, which writes
// MW_SPAMD=127.0.0.1:PORT and MW_RSPAMD=127.0.0.1:PORT to its env file. Without them these tests
// are skipped. MW_SCANNER_LATENCY=1 also prints p50/p99 over 200 sequential scans per scanner.
import Foundation
import MailWardenCore
import MailWardenScanners
import Testing

enum RealScanners {
    static let environment = ProcessInfo.processInfo.environment
    static let limits = ScannerLimits(connectTimeout: .seconds(1), timeout: .seconds(10), maxMessageBytes: 1_024_000)

    /// The scanners the environment names: (variable, scanner).
    static var configured: [(String, any SpamScanner)] {
        var scanners: [(String, any SpamScanner)] = []
        if let address = environment["MW_SPAMD"].flatMap(ScannerAddress.init) {
            scanners.append(("MW_SPAMD", SpamdScanner(address: address, limits: limits)))
        }
        if let address = environment["MW_RSPAMD"].flatMap(ScannerAddress.init) {
            scanners.append(("MW_RSPAMD", RspamdScanner(address: address, limits: limits)))
        }
        return scanners
    }

    static var areConfigured: Bool { !configured.isEmpty }

    static func request(subject: String, body: String) -> ScanRequest {
        // Today's date: a fixed one would score DATE_IN_PAST in both scanners.
        let rfc5322 = DateFormatter()
        rfc5322.locale = Locale(identifier: "en_US_POSIX")
        rfc5322.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let date = rfc5322.string(from: Date())
        let text = """
            From: Alice Example <alice@example.org>\r
            To: Bob Example <bob@example.net>\r
            Subject: \(subject)\r
            Date: \(date)\r
            Message-ID: <\(UUID().uuidString)@example.org>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=us-ascii\r
            \r
            \(body)\r

            """
        return ScanRequest(message: Array(text.utf8), clientAddress: "127.0.0.1", clientHostname: "client.example.org",
                           envelopeFrom: "<alice@example.org>", recipients: ["<bob@example.net>"], queueID: "4F2A1C0DE",
                           authenticatedUser: "alice@example.org")
    }

    static let gtube = request(subject: "Test spam mail (GTUBE)",
                               body: "This is the GTUBE, the\r\n\tGeneric\r\n\tTest for\r\n\tUnsolicited\r\n\tBulk\r\n\tEmail\r\n\r\n"
                                   + "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
    static let ham = request(subject: "Lunch on Thursday",
                             body: "Hi Bob,\r\n\r\nare we still on for lunch on Thursday at noon? The usual place.\r\n\r\nAlice")
}

// Serialized: the latency figures must not share the scanners with other tests.
@Suite(.serialized, .enabled(if: RealScanners.areConfigured, "start Tests/scanners/start-scanners.sh and export its env file"))
struct RealScannerTests {
    @Test func gtubeIsSpamWithAScoreAndItsRule() throws {
        for (variable, scanner) in RealScanners.configured {
            let result = try scanner.scan(RealScanners.gtube)
            #expect(result.isSpam, "\(variable): \(result)")
            #expect(result.score >= result.requiredScore, "\(variable): \(result)")
            #expect(result.symbols.contains("GTUBE"), "\(variable): \(result)")
            if scanner is RspamdScanner { #expect(result.action == "reject") }
        }
    }

    @Test func aPlainMessageIsNotSpam() throws {
        for (variable, scanner) in RealScanners.configured {
            let result = try scanner.scan(RealScanners.ham)
            #expect(!result.isSpam, "\(variable): \(result)")
            #expect(result.score < result.requiredScore, "\(variable): \(result)")
            #expect(!result.symbols.isEmpty, "\(variable): rules fire on any message: \(result)")
            if scanner is RspamdScanner { #expect(result.action == "no action") }
            print("\(scanner.label) ham: score \(result.score)/\(result.requiredScore) \(result.symbols.joined(separator: ","))")
        }
    }

    @Test(.enabled(if: RealScanners.environment["MW_SCANNER_LATENCY"] != nil))
    func latencyOfSequentialScans() throws {
        for (_, scanner) in RealScanners.configured {
            for (kind, request) in [("ham", RealScanners.ham), ("GTUBE", RealScanners.gtube)] {
                _ = try scanner.scan(request)
                let latencies = try (0..<200).map { _ in try scanner.scan(request).latencyMicroseconds }.sorted()
                func ms(_ quantile: Double) -> String {
                    String(format: "%.2f ms", Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * quantile))]) / 1000)
                }
                print("latency \(scanner.label) \(kind): p50 \(ms(0.50)) p99 \(ms(0.99)) max \(ms(1.0)) over \(latencies.count) scans")
            }
        }
    }
}
