// SpamAssassin's spamd, over its own SPAMC/SPAMD protocol (no spamc process):
//
//   > SYMBOLS SPAMC/1.5\r\nContent-length: 374\r\n\r\n<message>
//   < SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS
//
// spamd answers SPAMD/1.1 to a 1.5 request and closes after each answer. A non-zero EX code
// (`SPAMD/1.0 76 Bad header line`) is an error; spamd may send it before reading the whole message.
import MailWardenCore

public struct SpamdScanner: SpamScanner {
    public let name = ScannerKind.spamd.rawValue
    public let address: ScannerAddress
    private let client: ScannerClient

    public init(address: ScannerAddress, limits: ScannerLimits) {
        self.address = address
        client = ScannerClient(address: address, limits: limits)
    }

    public func scan(_ request: ScanRequest) throws(ScanFailure) -> ScanResult {
        try client.scan(head: Self.requestHead(for: request), message: request.message, parse: Self.parseAnswer)
    }

    /// SYMBOLS: the verdict plus the names of the rules that fired, without a rewritten message.
    /// No User field: spamd would judge the sender's mail by that user's own preferences (a
    /// user_prefs with `required_score 1000` or a whitelist_from), which the sender may write.
    static func requestHead(for request: ScanRequest) -> [UInt8] {
        var head = RequestHead("SYMBOLS SPAMC/1.5")
        head.add("Content-length", String(request.message.count))
        return head.bytes
    }

    static func parseAnswer(_ received: [UInt8], ended: Bool) throws(ScanFailure) -> ScanResult? {
        guard let statusLine = try ResponseHead.statusLine(of: received, prefix: "SPAMD/") else { return nil }
        let status = statusLine.split(separator: " ", maxSplits: 2)
        guard status.count >= 2, let code = Int(status[1]) else { throw .garbled(excerpt: ResponseHead.excerpt(received)) }
        guard code == 0 else { throw .scannerError(statusLine) }
        guard let head = try ResponseHead.parse(received, prefix: "SPAMD/") else { return nil }
        guard let spam = head.field("spam"), let verdict = SpamHeader(spam) else {
            throw .garbled(excerpt: "no valid Spam: field in `\(ResponseHead.excerpt(received))`")
        }
        guard let body = try head.body(of: received, ended: ended) else { return nil }
        let symbols = String(decoding: body, as: UTF8.self).split(separator: ",").map { $0.trimmingWhitespace() }
        return ScanResult(scanner: ScannerKind.spamd.rawValue, isSpam: verdict.isSpam, score: verdict.score, requiredScore: verdict.required,
                          action: nil, symbols: symbols.filter { !$0.isEmpty }.sorted(), latencyMicroseconds: 0)
    }

    /// `Spam: True ; 15.3 / 5.0` (older spamd versions say Yes/No).
    struct SpamHeader {
        let isSpam: Bool
        let score: Double
        let required: Double

        init?(_ value: String) {
            let parts = value.split(separator: ";", maxSplits: 1)
            let scores = parts.count == 2 ? parts[1].split(separator: "/") : []
            guard scores.count == 2, let score = Double(scores[0].trimmingWhitespace()),
                  let required = Double(scores[1].trimmingWhitespace()) else { return nil }
            switch parts[0].trimmingWhitespace().lowercased() {
            case "true", "yes": isSpam = true
            case "false", "no": isSpam = false
            default: return nil
            }
            self.score = score
            self.required = required
        }
    }
}
