// Where a reported original came from: its Received fields, newest first, walked down past the
// receiver's own hops to the first client on the public Internet. The topmost field is often a
// local hand-off (`by mailstore (Postfix, from userid 1000)`), a filter on the same network, or a
// big provider's internal relay; the offender is the client the receiver's edge accepted from.
import MailWardenCore

/// One Received field's `from` clause: who handed the message over, and to whom.
struct ReceivedHop {
    /// The client's address as the receiving server recorded it (`[192.0.2.1]` in the comment).
    let clientAddress: IPAddress
    /// The client's name as the receiving server looked it up (reverse DNS), when it gives one;
    /// never the HELO name, which the client chooses.
    let clientName: String?
    /// The name the client gave (its HELO, or Exchange's `from host (ip)`): the client's choice.
    let claimedName: String?
    /// The receiving server (`by` host).
    let serverName: String?

    /// Longest field read: a Received field is a line or three, never kilobytes.
    static let maxFieldBytes = 2_048

    /// Nil for a field with no `from` clause (a local hand-off) or no address in it.
    init?(_ field: String) {
        let words = Self.words(field.utf8.prefix(Self.maxFieldBytes))
        guard let first = words.first, first.text.lowercased() == "from", first.depth == 0, words.count > 1 else { return nil }
        let byIndex = words.firstIndex { $0.depth == 0 && $0.text.lowercased() == "by" } ?? words.count
        // `from by …` names no client.
        guard byIndex > 1 else { return nil }
        let clause = words[1..<byIndex]
        // The word after qmail's `(HELO name)` is the name the client gave, even when it is an address.
        let comment = clause.indices.filter { index in
            clause[index].depth > 0 && !(index > clause.startIndex && ["helo", "ehlo"].contains(clause[index - 1].text.lowercased()))
        }.map { clause[$0].text }
        serverName = byIndex + 1 < words.count ? Hostname.normalized(words[byIndex + 1].text) : nil
        claimedName = clause[clause.startIndex].depth == 0 ? Hostname.normalized(clause[clause.startIndex].text) : nil
        // Postfix, Sendmail: `from helo (rdns [ip])`. Exim: `from rdns ([ip] helo=…)`. Exchange:
        // `from host (ip) by …`. Some (Mailobj, qmail-likes): `from host [ip] by …`, outside a comment.
        if let bracketed = comment.firstIndex(where: { $0.hasPrefix("[") }), let ip = Self.address(comment[bracketed]) {
            clientAddress = ip
            clientName = bracketed > 0 ? Hostname.normalized(comment[bracketed - 1]) : Hostname.normalized(clause[clause.startIndex].text)
        } else if let ip = comment.lazy.compactMap(Self.address).first
                    ?? clause.lazy.filter({ $0.depth == 0 && $0.text.hasPrefix("[") }).compactMap({ Self.address($0.text) }).first
                    ?? Self.address(clause[clause.startIndex].text) {
            clientAddress = ip
            clientName = nil
        } else {
            return nil
        }
    }

    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]`, `(2001:db8::1)`, `192.0.2.1:25`, as an address.
    private static func address(_ word: String) -> IPAddress? {
        let bare = word.trimmingCharacters(in: ["[", "]", "(", ")", ";", ","])
        if let ip = IPAddress(String(bare)) { return ip }
        // An IPv4 address with a port.
        guard let colon = bare.lastIndex(of: ":"), bare.firstIndex(of: ":") == colon else { return nil }
        return IPAddress(String(bare[..<colon]))
    }

    /// The field's words with how deep in `( … )` comments each one is.
    private static func words(_ bytes: some Collection<UInt8>) -> [(text: String, depth: Int)] {
        var words: [(text: String, depth: Int)] = []
        var current: [UInt8] = []
        var depth = 0
        func flush() {
            if !current.isEmpty { words.append((String(decoding: current, as: UTF8.self), depth)) }
            current.removeAll(keepingCapacity: true)
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "("): flush(); depth += 1
            case UInt8(ascii: ")"): flush(); depth = max(0, depth - 1)
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): flush()
            default: current.append(b)
            }
        }
        flush()
        return words
    }
}

extension ReportMessage {
    /// Received fields walked at most: a real chain has a dozen.
    static let maxReceivedWalked = 64

    /// The offending client in an original's Received chain: the client of the newest field whose
    /// address is public and which is not one of the receiver's own hops (client and server in one
    /// organisation) nor the reporter's (a client named in `reporterDomains`, registrable domains:
    /// a mailbox provider's inbound relay handing the spam to its mail store). Nil when no field names one.
    static func offendingHop(_ headers: [HeaderField], reporterDomains: Set<String> = []) -> IPAddress? {
        let hops = headers.values("Received").prefix(maxReceivedWalked).map(ReceivedHop.init)
        for (index, hop) in hops.enumerated() {
            guard let hop, !hop.clientAddress.isInternal else { continue }
            let clientDomain = hop.clientName.map(Hostname.registrable)
            if let clientDomain, clientDomain == hop.serverName.map(Hostname.registrable) || reporterDomains.contains(clientDomain) {
                continue
            }
            // A relay with no reverse name (Exchange's `from host (ip)`) that calls itself the
            // reporter's server which took the older hop: the reporter's inbound relay. The name
            // alone is the client's word, so it counts only where the chain below bears it out.
            if hop.clientName == nil, let claimed = hop.claimedName, index + 1 < hops.count, let older = hops[index + 1],
               claimed == older.serverName, reporterDomains.contains(Hostname.registrable(claimed)) {
                continue
            }
            return originOfRelay(hops[index...])
        }
        return nil
    }

    /// The edge client is often the sender's own outbound relay, shared by all its customers; a
    /// hosting company's relay names the web server behind it. The chain is followed down while
    /// the relay's organisation (its reverse name's registrable domain) received the message from
    /// another of its own hosts, named so by reverse DNS, on a public address. Those fields are the
    /// relay's own word: a relay that forges them can point only at an address it calls its own.
    private static func originOfRelay(_ hops: ArraySlice<ReceivedHop?>) -> IPAddress? {
        guard var origin = hops.first ?? nil else { return nil }
        for older in hops.dropFirst() {
            guard let older, !older.clientAddress.isInternal, let organisation = origin.clientName.map(Hostname.registrable),
                  older.serverName.map(Hostname.registrable) == organisation, older.clientName.map(Hostname.registrable) == organisation
            else { break }
            origin = older
        }
        return origin.clientAddress
    }
}
