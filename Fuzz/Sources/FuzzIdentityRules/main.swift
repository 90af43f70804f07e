// Identity rules of every kind, and the abuse-mailbox patterns, over what a stranger controls:
// macros, envelope sender, client address and headers, all taken from the input.
import FuzzDriver
import MailWardenCore

/// The input split at NUL bytes: the {auth_authen} macro, the envelope sender, the client
/// address, then `Name:value` headers.
struct HostileFacts: MessageFacts {
    let fields: [String]

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    private func field(_ i: Int) -> String? { i < fields.count ? fields[i] : nil }

    func macro(_ name: String) -> String? { name == "{auth_authen}" ? field(0) : nil }
    var envelopeFrom: String? { field(1) }
    var clientAddress: String? { field(2) }

    func headerValues(named name: String) -> [String] {
        fields.dropFirst(3).compactMap { header in
            guard let colon = header.firstIndex(of: ":"), header[..<colon].lowercased() == name.lowercased() else { return nil }
            return String(header[header.index(after: colon)...])
        }
    }
}

/// Built for every input rather than once: held in a global, the compiled regexes and the match
/// buffers ICU grows in them on first use are reported by LeakSanitizer as leaked (a false alarm:
/// it does not recognise Swift's references to them), and every input would stop the run.
func makeRules() -> IdentityRules {
    IdentityRules([
        "sasl macro {auth_authen} lowercase",
        "user header X-Auth-User /^\\s*(?<id>[^@\\s]+@[^@\\s]+)\\s*$/i lowercase",
        "php header X-PHP-Originating-Script /^(?<id>[0-9]+):/",
        "env envelope_from /^(?<id>[^@]+)@(example\\.net|[a-z0-9.-]+)$/i",
        "ip client_address",
    ].compactMap { try? IdentityRule(parsing: $0) })
}

let mailboxes = AbuseMailboxes(["abuse@*", "*@abuse.example.net", "postmaster@example.net", "*a*b*c*"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIdentityRules(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let facts = HostileFacts(UnsafeBufferPointer(start: start, count: count))
    let rules = makeRules()
    _ = rules.resolveBeforeHeaders(facts)
    _ = rules.resolve(facts)
    if let sender = facts.envelopeFrom { _ = mailboxes.contains(sender) }
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
