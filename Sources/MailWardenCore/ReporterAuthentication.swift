// Whether an abuse report's reporter is authenticated, decided from the report's own header fields:
// a `From:` anyone can forge counts only when an `Authentication-Results` field written by our own
// MX (a trusted authserv-id) shows a DKIM or SPF pass aligned with the From: domain (relaxed, DMARC
// RFC 7489 section 3.1: same organisational domain). Entry point: `ReporterAuthentication.decide`.
// Pure: no I/O; every A-R field is bounded by `AuthenticationResults`.
//
// Which fields to pass is the caller's choice: a field with our authserv-id below the Received:
// field our MX added was written before the mail reached us and cannot be told from a forged one here.

/// The verdict on one report's reporter.
public enum ReporterAuthentication: Sendable, Equatable {
    /// Counted as the organisational domain of the From: domain.
    case authenticated(organizationalDomain: String, method: Method)
    /// Not counted; `reason` is for the log and triage, e.g. `dkim=fail`.
    case unauthenticated(reason: String)

    public enum Method: String, Sendable {
        case dkim, spf
    }

    /// At most this many reasons are joined into one `unauthenticated` reason.
    static let maxReasons = 4

    /// Decides from the report's Authentication-Results fields (top first), the domain of its From:
    /// address, the trusted authserv-ids (lowercase, the `authserv_id` setting) and the public
    /// suffixes. Any aligned pass in any trusted field suffices; DKIM is preferred over SPF because it
    /// vouches for the message itself, SPF only for the host that relayed it.
    /// `fields` are the report's Authentication-Results fields, already parsed (by the desk's
    /// isolated parser: the worker that decides reads no stranger's text).
    public static func decide(fields: [AuthenticationResults], fromDomain: String?,
                              trustedAuthservIDs: Set<String>, publicSuffixes: PublicSuffixList) -> ReporterAuthentication {
        guard !trustedAuthservIDs.isEmpty else { return .unauthenticated(reason: "no authserv_id configured") }
        guard let fromDomain, !fromDomain.isEmpty else { return .unauthenticated(reason: "no From: domain") }
        guard let from = PublicSuffixList.normalized(fromDomain) else {
            return .unauthenticated(reason: "From: domain is not a DNS name")
        }
        guard let fromOrganization = publicSuffixes.organizationalDomain(of: from) else {
            return .unauthenticated(reason: "From: \(from) is a public suffix")
        }
        let trusted = fields.filter { trustedAuthservIDs.contains($0.authservID) }
        guard !trusted.isEmpty else { return .unauthenticated(reason: "no Authentication-Results from our authserv-id") }

        // The first few distinct reasons in order; the set counts the rest without a quadratic search
        // (fields claiming our id may be many when the MX does not strip forged ones).
        var reasons: [String] = []
        var distinct: Set<String> = []
        for method in [Method.dkim, .spf] {
            for result in trusted.flatMap(\.results) where result.method == method.rawValue {
                let failure = alignmentFailure(result, method: method, from: from, fromOrganization: fromOrganization,
                                               publicSuffixes: publicSuffixes)
                guard let failure else { return .authenticated(organizationalDomain: fromOrganization, method: method) }
                if distinct.insert(failure).inserted && reasons.count < maxReasons { reasons.append(failure) }
            }
        }
        guard !reasons.isEmpty else { return .unauthenticated(reason: "no dkim or spf result from our authserv-id") }
        let shown = reasons.joined(separator: "; ")
        return .unauthenticated(reason: distinct.count > maxReasons ? "\(shown); and \(distinct.count - maxReasons) more" : shown)
    }

    /// Why one dkim or spf result does not authenticate the From: domain, or nil when it does.
    private static func alignmentFailure(_ result: AuthenticationResults.MethodResult, method: Method, from: String,
                                         fromOrganization: String, publicSuffixes: PublicSuffixList) -> String? {
        guard result.result == "pass" else { return "\(method.rawValue)=\(result.result)" }
        let (identifier, written) = method == .dkim
            ? ("d", result.value(of: "header", "d"))
            // SPF checked the envelope sender; OpenDMARC and Exchange write just its domain.
            : ("mailfrom", result.value(of: "smtp", "mailfrom").map { address in
                address.lastIndex(of: "@").map { String(address[address.index(after: $0)...]) } ?? address
            })
        guard let written, !written.isEmpty else { return "\(method.rawValue)=pass without a \(identifier) domain" }
        // An invalid name is not echoed: it is a stranger's text of up to 8 KiB.
        guard let domain = PublicSuffixList.normalized(written) else {
            return "\(method.rawValue)=pass for an invalid \(identifier) domain"
        }
        guard publicSuffixes.organizationalDomain(of: domain) == fromOrganization else {
            return "\(method.rawValue)=pass for \(identifier)=\(domain) not aligned with From: \(from)"
        }
        return nil
    }
}
