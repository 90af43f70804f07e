// The abuse desk's ingest path, shared by the milter (mail to abuse_mailboxes) and `mailwarden
// ingest` (pipe transport, mbox, Maildir): parse the report, trace the reported original to one of
// our identities, choose the case subject, store everything in one transaction, and count a traced
// complaint toward the identity's lock.
//
// Subject, in order: the traced identity; else each distinct IP of a bulk CSV; else the source IP;
// else the reported domain. No type or no subject: triage, for a person to decide.
// Tracing, in order: the X-MailWarden-ID token; the original's Message-ID in the outbound log; the
// identity rules applied to the original's headers.
import Foundation
import MailWardenCore
import MailWardenReports

/// What one ingested message became; also its one-line JSON (`mailwarden ingest --json`).
public struct IngestResult: Sendable {
    public enum Status: String, Sendable { case filed, triage, ignored, duplicate }

    public let status: Status
    public let reportID: Int64
    public let format: String
    public let type: AbuseType?
    public let ips: [String]
    public let domains: [String]
    public let urls: [String]
    public let identity: Identity?
    public let tracedBy: TraceMethod?
    public let cases: [FiledCase]
    public let reason: String?
    /// What the lock policy made of a traced complaint, if one was counted.
    public let complaint: AccountingOutcome?

    public var json: JSONValue {
        .object([
            ("status", .string(status.rawValue)),
            ("report_id", .number(reportID)),
            ("format", .string(format)),
            ("type", .text(type?.rawValue)),
            ("ips", .array(ips.map(JSONValue.string))),
            ("domains", .array(domains.map(JSONValue.string))),
            ("urls", .array(urls.map(JSONValue.string))),
            ("identity", .text(identity)),
            ("traced_by", .text(tracedBy?.rawValue)),
            ("cases", .array(cases.map { c in
                .object([("id", .number(c.id)), ("subject", .string(c.subject.value)),
                         ("subject_kind", .string(c.subject.kind.rawValue)), ("type", .string(c.subject.type.rawValue))])
            })),
            ("reason", .text(reason)),
        ])
    }

    /// For the milter's per-message log line.
    public var logSummary: String {
        var parts = ["report=\(reportID)", "status=\(status.rawValue)", "format=\(format)"]
        if let type { parts.append("type=\(type.rawValue)") }
        if !cases.isEmpty { parts.append("cases=" + cases.map { "\($0.id):\($0.subject.value)" }.joined(separator: ",")) }
        if let identity { parts.append("identity=\(identity) traced_by=\(tracedBy?.rawValue ?? "-")") }
        if let reason { parts.append("reason=\"\(reason)\"") }
        return parts.joined(separator: " ")
    }
}

public struct AbuseDesk: Sendable {
    public let config: Config
    public let cases: CaseStore
    public let accounting: IdentityAccounting

    public init(config: Config, cases: CaseStore, policy: PolicyStore, clock: WallClock) {
        self.config = config
        self.cases = cases
        accounting = IdentityAccounting(config: config, store: policy, clock: clock)
    }

    /// Parses and stores one message. Throws only when it could not be stored (the caller then
    /// tempfails or exits 75): garbage is stored too, in triage.
    public func ingest(_ raw: [UInt8], sender: String?, recipient: String?) throws -> IngestResult {
        let report = ReportParser.parse(raw)
        let trace = try self.trace(report)
        var status = report.status
        var reason = report.reason
        var subjects: [CaseSubject] = []
        // A typed report the parser could not file (no IP or domain) still files when we traced its
        // original to one of our customers: the customer is the subject.
        if status == .filed || (status == .triage && report.type != nil && trace != nil) {
            subjects = Self.subjects(of: report, identity: trace?.identity)
            if subjects.isEmpty {
                status = .triage
                reason = reason ?? (report.type == nil ? "abuse type not recognised" : "no IP, domain or customer to file it on")
            } else {
                status = .filed
                reason = nil
            }
        }
        let filing = ReportFiling(
            receivedAt: accounting.clock.now(), messageID: report.messageID, contentHash: ReportFingerprint.of(raw),
            status: status, format: report.format.rawValue, type: report.type, reporter: report.reporter,
            envelopeSender: sender, envelopeRecipient: recipient, reason: reason,
            identity: trace?.identity, tracedBy: trace?.method, fields: Self.fields(of: report), raw: raw,
            indicators: Self.indicators(of: report), evidence: report.evidence, subjects: subjects)
        let outcome = try cases.file(filing)
        let result: (Status: IngestResult.Status, id: Int64, cases: [FiledCase])
        switch outcome {
        case .duplicate(let id): result = (.duplicate, id, [])
        case .stored(let id, let filed): result = (IngestResult.Status(rawValue: status.rawValue) ?? .triage, id, filed)
        }
        var complaint: AccountingOutcome?
        if result.Status == .filed, let identity = trace?.identity {
            complaint = try accounting.accountComplaint(identity: identity, reporter: report.reporter ?? sender ?? "unknown")
        }
        return IngestResult(status: result.Status, reportID: result.id, format: report.format.rawValue, type: report.type,
                            ips: report.sourceIPs, domains: report.domains, urls: report.urls, identity: trace?.identity,
                            tracedBy: trace?.method, cases: result.cases, reason: reason, complaint: complaint)
    }

    /// Which of our identities sent the reported original, if we can tell.
    func trace(_ report: AbuseReport) throws -> (identity: Identity, method: TraceMethod)? {
        guard let original = report.original, !original.headers.isEmpty else { return nil }
        let facts = OriginalHeaders(fields: original.headers.map { ($0.name, $0.value) })
        if let token = facts.headerValues(named: "X-MailWarden-ID").first?.trimmingWhitespace(), !token.isEmpty,
           let identity = try cases.identity(forToken: token) {
            return (identity, .token)
        }
        if let mid = facts.headerValues(named: "Message-ID").first, let identity = try cases.senderIdentity(ofMessageID: mid) {
            return (identity, .outboundLog)
        }
        if let match = config.identityRules.resolve(facts) {
            return (match.identity, .identityRule)
        }
        return nil
    }

    static func subjects(of report: AbuseReport, identity: Identity?) -> [CaseSubject] {
        guard let type = report.type else { return [] }
        if let identity { return [CaseSubject(kind: .identity, value: identity, type: type)] }
        if !report.bulkEntries.isEmpty {
            var seen = Set<String>()
            return report.bulkEntries.compactMap { row in
                seen.insert(row.ip).inserted ? CaseSubject(kind: .ip, value: row.ip, type: row.type ?? type) : nil
            }
        }
        if let ip = report.sourceIPs.first { return [CaseSubject(kind: .ip, value: ip, type: type)] }
        if let domain = report.domains.first { return [CaseSubject(kind: .domain, value: domain, type: type)] }
        return []
    }
}

extension AbuseDesk {
    /// Every indicator the report names, searchable with `cases --subject`.
    static func indicators(of report: AbuseReport) -> [(kind: String, value: String)] {
        report.sourceIPs.map { ("ip", $0) } + report.domains.map { ("domain", $0) }
            + report.urls.map { ("url", $0) } + report.emails.map { ("email", $0) }
            + report.bulkEntries.map { ("ip", $0.ip) }
    }

    /// The parsed fields as stored with the report (`case show` prints them).
    static func fields(of report: AbuseReport) -> JSONValue {
        .object([
            ("subject", .text(report.subject)),
            ("received_at", .time(report.receivedAt)),
            ("truncated", .bool(report.isTruncated)),
            ("original_message_id", .text(report.originalHeader("Message-ID"))),
            ("fields", .array(report.fields.map { .object([("name", .string($0.name)), ("value", .string($0.value))]) })),
        ])
    }
}

/// The reported original's headers as identity rules see them (no envelope, no macros).
struct OriginalHeaders: MessageFacts {
    let fields: [(name: String, value: String)]
    func macro(_ name: String) -> String? { nil }
    var envelopeFrom: String? { headerValues(named: "Return-Path").first }
    var clientAddress: String? { nil }
    func headerValues(named name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}
