// The abuse desk's filing step, run by the desk worker once the isolated parser has read a queued
// report (the milter and `mailwarden ingest` only queue raw bytes): trace the reported original to
// one of our identities, choose the case subject, and record the filing and the traced complaint's
// count toward the identity's lock in one transaction, so a retry never files twice or counts none.
//
// Subject, in order: the traced identity; else each distinct IP of a bulk CSV; else the source IP;
// else the reported domain. No type or no subject: triage, for a person to decide.
// Tracing, in order: the X-MailWarden-ID token; the original's Message-ID in the outbound log; the
// identity rules applied to the original's headers. Only proof that the message left through us
// counts toward a lock: the token, or the outbound log's entry with our queue id in the original's
// Received fields or its Date. A trace by identity rules (anyone can write such an original) files
// the report on the identity's case for a person to judge, and never counts.
import Foundation
import MailWardenCore
import MailWardenReports

/// What one ingested message became; also its one-line JSON (`mailwarden ingest --json`).
public struct IngestResult: Sendable {
    public enum Status: String, Sendable, CaseIterable { case filed, triage, ignored, correspondence, duplicate }

    /// A report the parser gave up on (died or ran over its budget): in triage with its raw bytes.
    public static func unparsed(reportID: Int64, reason: String) -> IngestResult {
        bare(.triage, reportID: reportID, reason: reason)
    }

    /// The same message was queued before.
    public static func duplicate(reportID: Int64) -> IngestResult {
        bare(.duplicate, reportID: reportID, reason: nil)
    }

    /// Another desk worker parsed the report first; `case show` or `triage` tell what it became.
    public static func parsedElsewhere(reportID: Int64) -> IngestResult {
        bare(.duplicate, reportID: reportID, reason: "parsed by another desk worker")
    }

    private static func bare(_ status: Status, reportID: Int64, reason: String?) -> IngestResult {
        IngestResult(status: status, reportID: reportID, format: "unparsed", type: nil, ips: [], networks: [], domains: [], urls: [], identity: nil,
                     tracedBy: nil, cases: [], reason: reason, complaint: nil, notCountedBecause: nil, reporterAuthentication: nil)
    }

    public let status: Status
    public let reportID: Int64
    public let format: String
    public let type: AbuseType?
    public let ips: [String]
    public let networks: [String]
    public let domains: [String]
    public let urls: [String]
    public let identity: Identity?
    public let tracedBy: TraceMethod?
    public let cases: [FiledCase]
    public let reason: String?
    /// What the lock policy made of a traced complaint, if one was counted.
    public let complaint: AccountingOutcome?
    /// Why a complaint traced to one of our identities was filed but not counted.
    public let notCountedBecause: String?
    /// How the reporter was authenticated (`dkim:isp.example`), or `unauthenticated: why`.
    public let reporterAuthentication: String?

    public var json: JSONValue {
        .object([
            ("status", .string(status.rawValue)),
            ("report_id", .number(reportID)),
            ("format", .string(format)),
            ("type", .text(type?.rawValue)),
            ("ips", .array(ips.map(JSONValue.string))),
            ("networks", .array(networks.map(JSONValue.string))),
            ("domains", .array(domains.map(JSONValue.string))),
            ("urls", .array(urls.map(JSONValue.string))),
            ("identity", .text(identity)),
            ("traced_by", .text(tracedBy?.rawValue)),
            ("cases", .array(cases.map { c in
                .object([("id", .number(c.id)), ("subject", .string(c.subject.value)),
                         ("subject_kind", .string(c.subject.kind.rawValue)), ("type", .string(c.subject.type.rawValue))])
            })),
            ("reason", .text(reason)),
            ("reporter_auth", .text(reporterAuthentication)),
            ("complaint", .text(complaint != nil ? "counted" : notCountedBecause.map { "not counted: \($0)" })),
        ])
    }

    /// For the milter's per-message log line.
    static let casesNamed = 20

    public var logSummary: String {
        var parts = ["report=\(reportID)", "status=\(status.rawValue)", "format=\(format)"]
        if let type { parts.append("type=\(type.rawValue)") }
        if !cases.isEmpty {
            // A bulk report files on thousands: the line names the first few (a journal line is 48 KiB).
            let named = cases.prefix(Self.casesNamed).map { "\($0.id):\($0.subject.value)" }.joined(separator: ",")
            parts.append("cases=" + named + (cases.count > Self.casesNamed ? " (+\(cases.count - Self.casesNamed) more)" : ""))
        }
        if let identity { parts.append("identity=\(identity) traced_by=\(tracedBy?.rawValue ?? "-")") }
        if complaint != nil { parts.append("complaint=counted") }
        if let notCountedBecause { parts.append("complaint=\"not counted: \(notCountedBecause)\"") }
        if let reason { parts.append("reason=\"\(reason)\"") }
        return parts.joined(separator: " ")
    }
}

public struct AbuseDesk: Sendable {
    public let config: Config
    public let cases: CaseStore
    public let accounting: IdentityAccounting
    /// For the organisational domains that reporters authenticate as (public_suffix_list; when it
    /// cannot be read, the last two labels: check-config and the desk worker say so).
    public let publicSuffixes: PublicSuffixList
    /// The same list without its private section: distinct reporters are counted by it, so that the
    /// free names under duckdns.org (anyone's, each able to pass SPF) are one reporter, not many.
    let reporterSuffixes: PublicSuffixList
    /// Told of each lock a complaint sets, with the reports behind it, once the filing committed.
    public let notifier: LockNotifier?

    public init(config: Config, cases: CaseStore, policy: PolicyStore, clock: WallClock, notifier: LockNotifier? = nil) {
        self.config = config
        self.cases = cases
        self.notifier = notifier
        accounting = IdentityAccounting(config: config, store: policy, clock: clock)
        publicSuffixes = (try? PublicSuffixList.load(path: config.publicSuffixListPath)) ?? .lastTwoLabels
        reporterSuffixes = (try? PublicSuffixList.load(path: config.publicSuffixListPath, icannOnly: true)) ?? .lastTwoLabels
    }

    /// The reporter a complaint counts as, from its address: distinct reporters are distinct
    /// organisations, so one domain's many addresses are one voice.
    public func reporterOrganization(ofAddress address: String) -> String {
        let domain = address.split(separator: "@").last.map(String.init) ?? address
        return reporterSuffixes.organizationalDomain(of: domain) ?? address.lowercased()
    }

    /// Files one parsed, queued report and counts a traced complaint, in one transaction. Throws only
    /// when the store failed (nothing is then changed and the report stays queued).
    public func file(_ queued: QueuedReport, parsed report: AbuseReport) throws -> IngestResult {
        let trace = try self.trace(report)
        var status = report.status
        var reason = report.reason
        var subjects: [CaseSubject] = []
        let thread = ReportThread(references: report.references, ticket: ticket(of: report))
        // A reply to one of a case's reports, or a follow-up on the reporter's ticket, joins that
        // case as correspondence: it opens none (a provider answering, a ticket system's update).
        // Bounces and automatic replies stay ignored.
        let threadCases = status == .ignored ? [] : try cases.cases(inThreadOf: thread)
        if !threadCases.isEmpty {
            status = .correspondence
            reason = "in the thread of case \(threadCases.map { "\($0.id)" }.joined(separator: ", "))"
                + (report.ticket.map { " (ticket \($0))" } ?? "")
        }
        // A typed report the parser could not file (no IP or domain) still files when we traced its
        // original to one of our customers: the customer is the subject. Not one the parser left for
        // a person: a reply or a forwarded bounce carries our customer's mail without complaining of it.
        if status == .filed || (status == .triage && report.type != nil && trace != nil && !report.isForPerson) {
            subjects = Self.subjects(of: report, identity: trace?.identity, domainCanExist: publicSuffixes.knowsTopLevel(of:))
            if subjects.isEmpty {
                status = .triage
                let nonPublic = Self.nonPublicAddresses(of: report)
                reason = reason ?? (report.type == nil ? "abuse type not recognised"
                    : !nonPublic.isEmpty ? "only non-public addresses (\(nonPublic.prefix(3).joined(separator: ", "))): no case is filed on them"
                    : !report.domains.isEmpty ? "only names under no top-level domain of the public suffix list (\(report.domains.prefix(3).joined(separator: ", "))): no case is filed on them"
                    : "no IP, domain or customer to file it on")
            } else {
                status = .filed
                reason = nil
            }
        }
        let authentication = ReporterAuthentication.decide(
            fields: report.authenticationResults, fromDomain: report.fromDomain, trustedAuthservIDs: config.authservIDs,
            publicSuffixes: publicSuffixes)
        let notCounted = trace.flatMap { complaintBlocker($0, authentication, format: report.format, fromDomain: report.fromDomain) }
        // A bulk report's subjects but the last few are filed ahead, a few per transaction; the
        // report's own row, the last ones and its complaint commit together below.
        let filedLast = subjects.isEmpty ? 0 : (subjects.count - 1) % Self.subjectsFiledLast + 1
        let ahead = Array(subjects.prefix(subjects.count - filedLast))
        guard let filedAhead = ahead.isEmpty ? []
                : try cases.fileAhead(reportID: queued.id, subjects: ahead, identity: trace?.identity, tracedBy: trace?.method)
        else { return .parsedElsewhere(reportID: queued.id) }
        subjects.removeFirst(ahead.count)
        let filing = ReportFiling(
            reportID: queued.id, messageID: report.messageID, status: status, format: report.format.rawValue, type: report.type,
            reporter: report.reporter, reporterAuthentication: authentication.stored, reason: reason, identity: trace?.identity,
            tracedBy: trace?.method,
            fields: Self.fields(of: report), indicators: Self.indicators(of: report), evidence: report.evidence, subjects: subjects,
            ticket: thread.ticket, threadCases: threadCases.map(\.id))
        let (outcome, counted) = try cases.atomically { () throws -> (FilingOutcome, CountedComplaint?) in
            let outcome = try cases.file(filing)
            guard outcome != .notQueued, status == .filed, let trace, notCounted == nil,
                  case .authenticated(let organization, _) = authentication else { return (outcome, nil) }
            let reporter = report.fromDomain.flatMap(reporterSuffixes.organizationalDomain(of:)) ?? organization
            return (outcome, try accounting.accountComplaint(identity: trace.identity, reporter: reporter, reportID: queued.id,
                                                             receivedAt: queued.receivedAt))
        }
        let complaint = counted?.outcome
        counted?.notify(notifier)
        let filed: [FiledCase]
        switch outcome {
        case .notQueued:
            return .parsedElsewhere(reportID: queued.id)
        case .filed(let cases): filed = status == .correspondence ? threadCases : filedAhead + cases
        }
        return IngestResult(status: IngestResult.Status(rawValue: status.rawValue) ?? .triage, reportID: queued.id,
                            format: report.format.rawValue, type: report.type, ips: report.sourceIPs,
                            networks: report.sourceNetworks, domains: report.domains,
                            urls: report.urls, identity: trace?.identity, tracedBy: trace?.method, cases: filed, reason: reason,
                            complaint: complaint, notCountedBecause: status == .filed ? notCounted : nil,
                            reporterAuthentication: authentication.stored)
    }

    /// The report's ticket id scoped to its reporter's organisational domain: another reporter's
    /// ticket of the same number is another ticket.
    func ticket(of report: AbuseReport) -> String? {
        guard let id = report.ticket, let domain = report.fromDomain?.lowercased() else { return nil }
        return "\(publicSuffixes.organizationalDomain(of: domain) ?? domain) \(id)"
    }

    /// Why a complaint traced to `trace` cannot count toward a lock, or nil when it counts: the trace
    /// must prove the message was ours, and the reporter must be authenticated by our own MX and be
    /// one of complaint_trusted_reporters or, when there are none, an organisation the message was
    /// sent to. Anyone can write a report, and anyone who received one of a customer's messages can
    /// attach it (or its token) to complaints from domains of their own.
    func complaintBlocker(_ trace: Trace, _ authentication: ReporterAuthentication, format: ReportFormat, fromDomain: String?) -> String? {
        if let unproven = trace.notCountedBecause { return unproven }
        // A DKIM, SPF or DMARC failure report (RFC 6591) is a receiver's note that a message failed
        // authentication as ours: a spoof, or our customer's mail broken by a forwarder; no complaint.
        if format == .authFailure { return "an authentication-failure report, not a complaint" }
        switch authentication {
        case .unauthenticated(let why):
            return "reporter not authenticated (\(why))"
        case .authenticated(let organization, _):
            // By the From: domain the authentication aligned with, or a parent of it: a feedback
            // loop's own name (fbl.isp.example) is not its free mailboxes' (user@isp.example).
            let domain = fromDomain.flatMap(PublicSuffixList.normalized) ?? organization
            guard config.complaintTrustedReporters.isEmpty else {
                return config.complaintTrustedReporters.contains(where: { domain == $0 || domain.hasSuffix("." + $0) }) ? nil
                    : "reporter \(domain) is not in complaint_trusted_reporters"
            }
            guard let recipientDomains = trace.recipientDomains else {
                return "the original is not in our outbound log with its recipients: it cannot be shown to have been sent to \(domain)"
            }
            let reporter = publicSuffixes.organizationalDomain(of: domain) ?? domain
            guard recipientDomains.contains(where: { sameOrganization(domain, reporter: reporter, recipient: $0) }) else {
                return "the original was not sent to \(reporter) (its recipients: \(recipientDomains.prefix(5).joined(separator: ", "))"
                    + "\(recipientDomains.count > 5 ? ", …" : ""))"
            }
            return nil
        }
    }

    /// Whether a reporter (its From: domain, and that domain's organisation) is of the organisation
    /// of a recipient's domain. Without the public suffix list, organisations cannot be told (the
    /// last two labels would make every co.uk name one): the names must then be one, or one a
    /// subdomain of the other.
    func sameOrganization(_ domain: String, reporter: String, recipient: String) -> Bool {
        guard publicSuffixes.ruleCount > 0 else {
            return domain == recipient || domain.hasSuffix("." + recipient) || recipient.hasSuffix("." + domain)
        }
        return (publicSuffixes.organizationalDomain(of: recipient) ?? recipient) == reporter
    }

    /// Which of our identities sent a reported original, and whether that is proven.
    struct Trace {
        let identity: Identity
        let method: TraceMethod
        /// Why a complaint about it cannot count (nil: the message provably left through us).
        let notCountedBecause: String?
        /// The domains the message was sent to, from our outbound log; nil when it is not there.
        var recipientDomains: [String]? = nil
    }

    /// How far apart the original's Date and our outbound log's time may be for the same message.
    static let dateTolerance: Int64 = 86_400

    /// Which of our identities sent the reported original, if we can tell.
    func trace(_ report: AbuseReport) throws -> Trace? {
        guard let original = report.original, !original.headers.isEmpty else { return nil }
        let facts = OriginalHeaders(fields: original.headers)
        // The messages we logged under the original's Message-ID that our queue id or the date ties
        // the original to: a Message-ID alone is known to every recipient.
        let logged = try facts.headerValues(named: "Message-ID").first.map(cases.outboundMessages(withMessageID:)) ?? []
        let tied = logged.filter { sent in
            sent.queueID.map { id in facts.headerValues(named: "Received").contains { $0.contains("id \(id)") } } ?? false
                || original.sentAt.map { abs($0 - sent.at) <= Self.dateTolerance } ?? false
        }
        // Where the identity's tied messages went (one Message-ID may have been sent several times);
        // nil when none of them is logged with its recipients.
        func recipientDomains(of identity: Identity) -> [String]? {
            let kept = tied.filter { $0.identity == identity }.compactMap(\.recipientDomains)
            guard !kept.isEmpty else { return nil }
            var seen = Set<String>()
            return kept.joined().filter { seen.insert($0).inserted }
        }
        if let token = facts.headerValues(named: "X-MailWarden-ID").first?.trimmingWhitespace(), !token.isEmpty,
           let identity = try cases.identity(forToken: token) {
            // The token names the identity, not the message: it is the same in all of its mail.
            return Trace(identity: identity, method: .token, notCountedBecause: nil, recipientDomains: recipientDomains(of: identity))
        }
        if let sent = tied.first ?? logged.first {
            return Trace(identity: sent.identity, method: .outboundLog, notCountedBecause: tied.isEmpty
                         ? "its Message-ID is in our outbound log, but neither our queue id nor its date matches the message we sent" : nil,
                         recipientDomains: recipientDomains(of: sent.identity))
        }
        if let match = config.identityRules.resolve(facts) {
            return Trace(identity: match.identity, method: .identityRule,
                         notCountedBecause: "traced by identity rules on the attached original, which anyone can write")
        }
        return nil
    }

    /// The most subjects filed in the report's own transaction (CaseStore.fileAhead files the others).
    static let subjectsFiledLast = 100

    /// What a report is filed on. Never a non-public address (`IPAddress.isInternal`): a private
    /// network's host is nobody's to act on, and a provider's internal relay is only a messenger.
    /// Nor a name under no top-level domain (`domainCanExist`): text such as `smtp.mailfrom` or
    /// `hitmanpro.alert` reads as a host name and names no one.
    static func subjects(of report: AbuseReport, identity: Identity?, domainCanExist: (String) -> Bool) -> [CaseSubject] {
        guard let type = report.type else { return [] }
        if let identity { return [CaseSubject(kind: .identity, value: identity, type: type)] }
        if !report.bulkEntries.isEmpty {
            var seen = Set<String>()
            return report.bulkEntries.compactMap { row in
                guard isPublic(row.source), seen.insert(row.source).inserted else { return nil }
                return CaseSubject(kind: row.subjectKind, value: row.source, type: row.type ?? type)
            }
        }
        if let ip = report.sourceIPs.first(where: isPublic) { return [CaseSubject(kind: .ip, value: ip, type: type)] }
        // A network only where no address is named: an address is the narrower, surer subject.
        if let network = report.sourceNetworks.first(where: isPublic) { return [CaseSubject(kind: .network, value: network, type: type)] }
        // A written report of spam or an attack that names only non-public addresses is about
        // them: the links of its text (a footer's, the reporter's company's) are no fallback.
        if !(report.sourceIPs.isEmpty && report.sourceNetworks.isEmpty), type == .spam || type == .networkAbuse, report.format == .freeText || report.format == .forwardedSpam {
            return []
        }
        if let domain = report.domains.first(where: domainCanExist) { return [CaseSubject(kind: .domain, value: domain, type: type)] }
        return []
    }
}

extension AbuseDesk {
    /// Whether an address, or every address of a network, is public.
    static func isPublic(_ source: String) -> Bool {
        IPAddressOrNetwork(source).map { !$0.isInternal } ?? false
    }

    /// The non-public addresses and networks a report names as sources, for the reason it waits in triage.
    static func nonPublicAddresses(of report: AbuseReport) -> [String] {
        (report.sourceIPs + report.sourceNetworks + report.bulkEntries.map(\.source)).filter { !isPublic($0) }
    }

    /// Every indicator the report names, each once, searchable with `cases --subject`.
    static func indicators(of report: AbuseReport) -> [(kind: String, value: String)] {
        let named = report.sourceIPs.map { ("ip", $0) } + report.sourceNetworks.map { ("network", $0) } + report.domains.map { ("domain", $0) }
            + report.urls.map { ("url", $0) } + report.emails.map { ("email", $0) }
            + report.bulkEntries.map { ($0.subjectKind.rawValue, $0.source) }
        var seen = Set<String>()
        return named.filter { seen.insert("\($0.0) \($0.1.lowercased())").inserted }
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
    let fields: [HeaderField]
    func macro(_ name: String) -> String? { nil }
    var envelopeFrom: String? { headerValues(named: "Return-Path").first }
    var clientAddress: String? { nil }
    func headerValues(named name: String) -> [String] { fields.values(name) }
}

extension ReporterAuthentication {
    /// As stored with the report and shown by `case show` and `triage`.
    var stored: String {
        switch self {
        case .authenticated(let organization, let method): "\(method.rawValue):\(organization)"
        case .unauthenticated(let why): "unauthenticated: \(why)"
        }
    }
}
