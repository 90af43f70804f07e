// rspamd, over HTTP/1.1 `POST /checkv2` to its normal worker (no rspamc process): the message is the
// body, the envelope goes in rspamd's own request fields (IP, Helo, From, Rcpt once per recipient,
// Queue-Id, User for the authenticated login), and the JSON answer carries `action`, `score`,
// `required_score` and `symbols`. One request per connection (`Connection: close`); the answer may
// come with Content-Length, chunked, or up to the close.
//
// rspamd is judged by its action, not its score: GTUBE answers score == required_score with
// `is_skipped`, and required_score is the reject threshold, above the add-header one.
import Foundation
import MailWardenCore

public struct RspamdScanner: SpamScanner {
    public let name = ScannerKind.rspamd.rawValue
    public let address: ScannerAddress
    private let client: ScannerClient

    /// The actions that mean spam. Not `greylist` (merely suspicious) and not `soft reject`, which
    /// rspamd's docs define as "temporarily delay message", used by greylisting and rate limits.
    static let spamActions: Set<String> = ["reject", "rewrite subject", "add header", "quarantine", "discard"]

    public init(address: ScannerAddress, limits: ScannerLimits) {
        self.address = address
        client = ScannerClient(address: address, limits: limits)
    }

    public func scan(_ request: ScanRequest) throws(ScanFailure) -> ScanResult {
        try client.scan(head: Self.requestHead(for: request, address: address), message: request.message, parse: Self.parseAnswer)
    }

    static func requestHead(for request: ScanRequest, address: ScannerAddress) -> [UInt8] {
        var head = RequestHead("POST /checkv2 HTTP/1.1")
        // HTTP/1.1 requires a Host field; rspamd itself ignores it.
        if case .tcp = address { head.add("Host", address.description) } else { head.add("Host", "localhost") }
        head.add("Content-Length", String(request.message.count))
        head.add("Connection", "close")
        if let ip = request.clientAddress { head.add("IP", ip) }
        // Without it rspamd's hfilter scores every message as from a host with no name.
        if let hostname = request.clientHostname { head.add("Hostname", hostname) }
        if let from = request.envelopeFrom.map(unbracketed), !from.isEmpty { head.add("From", from) }
        for recipient in request.recipients { head.add("Rcpt", unbracketed(recipient)) }
        if let queueID = request.queueID { head.add("Queue-Id", queueID) }
        if let user = request.authenticatedUser { head.add("User", user) }
        return head.bytes
    }

    /// `<a@example.org>` as the MTA gives it, `a@example.org` as rspamd wants it.
    static func unbracketed(_ address: String) -> String {
        address.hasPrefix("<") && address.hasSuffix(">") ? String(address.dropFirst().dropLast()) : address
    }

    static func parseAnswer(_ received: [UInt8], ended: Bool) throws(ScanFailure) -> ScanResult? {
        guard let head = try ResponseHead.parse(received, prefix: "HTTP/1."),
              let body = try head.body(of: received, ended: ended) else { return nil }
        let status = head.statusLine.split(separator: " ", maxSplits: 2)
        guard status.count >= 2, let code = Int(status[1]) else { throw .garbled(excerpt: ResponseHead.excerpt(received)) }
        let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        guard code == 200 else {
            // rspamd explains an error in {"error": "..."}.
            let reason = json?["error"] as? String ?? ResponseHead.excerpt(Array(body))
            throw .scannerError("\(head.statusLine): \(reason)")
        }
        guard let json, let action = json["action"] as? String,
              let score = (json["score"] as? NSNumber)?.doubleValue,
              let required = (json["required_score"] as? NSNumber)?.doubleValue else {
            throw .garbled(excerpt: "no action, score and required_score in `\(ResponseHead.excerpt(Array(body)))`")
        }
        let symbols = (json["symbols"] as? [String: Any]).map { $0.keys.sorted() } ?? []
        return ScanResult(scanner: ScannerKind.rspamd.rawValue, isSpam: spamActions.contains(action), score: score,
                          requiredScore: required, action: action, symbols: symbols, latencyMicroseconds: 0)
    }
}
