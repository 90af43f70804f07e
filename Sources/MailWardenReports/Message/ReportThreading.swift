// What ties a report to earlier ones, for threading replies and follow-ups onto their case: the
// Message-IDs it answers (In-Reply-To, References) and a ticket id in its subject, as ticket systems
// write them: `[Ticket#2024120510000012]` (OTRS, Zammad), `[rt.example.org #12345]` (RT),
// `[Ticket ID: TN-656679]` (WHMCS), `[AbuseID:A98175:19]` (Hetzner), `[CERT-Bund#2024…]`,
// `Case 01234567`, `INC0012345`, `SR-1234567`. A bare `#12345` outside
// brackets is not one (an order number in a forwarded newsletter's subject would be).
// Both read a stranger's header: bounded (a few KiB read, 20 ids, 40 characters of ticket).
enum ReportThreading {
    static let maxReferences = 20
    static let maxMessageIDLength = 250
    /// How much of In-Reply-To and References is read.
    static let maxReferenceHeader = 4096
    static let maxSubject = 256
    static let maxTicketLength = 40

    /// In-Reply-To's ids, then References' (newest first), without angle brackets, each once.
    static func references(_ headers: [HeaderField]) -> [String] {
        var ids: [String] = []
        let references = headers.values("References").joined(separator: " ")
        for value in headers.values("In-Reply-To") + [references] {
            for id in messageIDs(in: value).reversed() where !ids.contains(id) {
                guard ids.count < maxReferences else { return ids }
                ids.append(id)
            }
        }
        return ids
    }

    /// The `<…>` tokens of a header value, in order.
    static func messageIDs(in value: String) -> [String] {
        var ids: [String] = []
        var current: [Character]?
        for c in value.prefix(maxReferenceHeader) {
            switch c {
            case "<": current = []
            case ">":
                if let id = current, !id.isEmpty, id.count <= maxMessageIDLength { ids.append(String(id)) }
                current = nil
            case " ", "\t", "\r", "\n": current = nil
            default: current?.append(c)
            }
        }
        return ids
    }

    static let keywords: [[Character]] = ["ticket", "case", "incident", "request", "sr", "inc", "abuseid"].map(Array.init)
    /// Words between a keyword and its id (`Ticket ID: TN-656679`, `Case No. 1234`).
    static let idWords: [[Character]] = ["id", "no", "nr", "number"].map(Array.init)

    /// The host names of the ticket systems whose tags a subject carries: RT writes its name, a
    /// host name at many desks, before the id (`[rt.isp.example #787048]`). At most 5.
    static func ticketSystemHosts(inSubject subject: String) -> [String] {
        var hosts: [String] = []
        for tag in subject.prefix(maxSubject).split(separator: "[", omittingEmptySubsequences: false).dropFirst().prefix(5) {
            guard let close = tag.firstIndex(of: "]") else { continue }
            let words = tag[..<close].split(separator: " ")
            guard words.count == 2, words[1].hasPrefix("#"), words[0].contains("."),
                  let host = Hostname.normalized(String(words[0])) else { continue }
            hosts.append(host)
        }
        return hosts
    }

    /// The ticket id a subject carries, lowercased; nil when it carries none.
    static func ticket(inSubject subject: String?) -> String? {
        guard let subject else { return nil }
        let s = Array(subject.prefix(maxSubject).lowercased())
        var bracketDepth = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "[" || c == "(" { bracketDepth += 1 }
            if c == "]" || c == ")" { bracketDepth = max(bracketDepth - 1, 0) }
            if c == "#", bracketDepth > 0, let id = identifier(s, from: i + 1, minDigits: 3) { return id }
            let atWordStart = i == 0 || !(s[i - 1].isLetter || s[i - 1].isNumber)
            if atWordStart, let keyword = keywords.first(where: { s[i...].starts(with: $0) }) {
                var j = skipSeparators(s, from: i + keyword.count)
                if let word = idWords.first(where: { s[j...].starts(with: $0) }), j + word.count < s.count, " :#.".contains(s[j + word.count]) {
                    j = skipSeparators(s, from: j + word.count)
                }
                if let id = identifier(s, from: j, minDigits: 4) { return id }
            }
            i += 1
        }
        return nil
    }

    /// The index past at most 3 separators from `start`.
    private static func skipSeparators(_ s: [Character], from start: Int) -> Int {
        var j = start
        while j < s.count, j - start < 3, " :#.-".contains(s[j]) { j += 1 }
        return j
    }

    /// The id starting at `start`: letters, digits, `-`, `_`, `.`, with at least `minDigits` digits.
    private static func identifier(_ s: [Character], from start: Int, minDigits: Int) -> String? {
        var end = start
        while end < s.count, end - start < maxTicketLength, s[end].isLetter || s[end].isNumber || "-_.".contains(s[end]) { end += 1 }
        while end > start, "-_.".contains(s[end - 1]) { end -= 1 }
        let id = s[start..<end]
        guard id.filter(\.isNumber).count >= minDigits, id.first?.isLetter == true || id.first?.isNumber == true else { return nil }
        return String(id)
    }
}
