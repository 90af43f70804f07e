// `Label: value` lines in running text (`Sender IP Address: 203.0.113.68`, `- Offending IP: ...`).
// A label says what an address is: the source of the abuse, or its target, which is never reported.
import MailWardenCore

struct LabelledLine {
    /// Lower-cased, with list bullets and surrounding whitespace removed.
    let label: String
    let value: String
    /// Whether the line stands in a list under a heading that names targets (`it was targeting
    /// our ips:` above `ip: 192.0.2.1` lines).
    var isUnderTargetHeading = false
}

enum LabelledLines {
    /// What may stand around a label: whitespace and list bullets.
    private static let bullets: Set<Character> = [" ", "\t", "-", "*", "•", ">", "#"]

    static func parse(_ text: String) -> [LabelledLine] {
        var lines: [LabelledLine] = []
        // A heading's only colon ends it (`it was targeting our ips (list is limited to 20) :`);
        // its list runs to the next blank line.
        var underTargetHeading = false
        // A form's label may stand on a line of its own and its value on the next (an HTML form's
        // `<h3>Source IP Address</h3><p>192.0.2.0/24</p>`). Only a label this file knows counts, so
        // a short line of prose is not taken for one.
        var labelAbove: String?
        for raw in text.prefix(ReportLimits.maxScannedTextBytes).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let trimmed = raw.trimmingWhitespace()
            if trimmed.isEmpty {
                underTargetHeading = false
                continue
            }
            if let label = labelAbove {
                labelAbove = nil
                lines.append(LabelledLine(label: label, value: trimmed, isUnderTargetHeading: underTargetHeading))
                continue
            }
            if trimmed.utf8.firstIndex(of: ASCII.colon) == trimmed.utf8.index(before: trimmed.utf8.endIndex) {
                underTargetHeading = namesTarget(trimmed.lowercased())
                continue
            }
            // A label is short: look for its colon near the start only.
            guard let colon = raw.utf8.prefix(64).firstIndex(of: ASCII.colon) else {
                let label = trimmed.trimming(Self.bullets).lowercased()
                if isKnownLabel(label) { labelAbove = label }
                continue
            }
            let label = raw[..<colon].trimming(Self.bullets).lowercased()
            guard !label.isEmpty, label.count <= 40, label.contains(where: \.isLetter), !label.hasSuffix("http"), !label.hasSuffix("https") else { continue }
            lines.append(LabelledLine(label: label, value: raw[raw.index(after: colon)...].trimmingWhitespace(), isUnderTargetHeading: underTargetHeading))
        }
        return lines
    }

    /// Labels that name the offending address.
    private static let sourceLabelWords = [
        "source ip", "source-ip", "sender ip", "src ip", "src_ip", "offending ip", "attacker", "attacking ip",
        "infringer", "source address", "source net", "source range", "abusive ip", "quell-ip", "quelle", "angreifer", "absender-ip",
    ]
    /// Labels that name a victim or a target, never reported.
    private static let targetLabelWords = ["target", "destination", "victim", "dst", "ziel", "opfer", "reporter", "attacked"]

    private static func isSourceLabel(_ label: String) -> Bool {
        label == "ip" || label == "ip address" || label == "ip-address" || sourceLabelWords.contains { label.includes($0) }
    }

    /// A line that is a label of its own: short, no sentence, a source, target or type label.
    private static func isKnownLabel(_ line: String) -> Bool {
        line.count <= 40 && line.split(separator: " ").count <= 4 && !line.contains(where: { ".,;!?".contains($0) })
            && (isSourceLabel(line) || namesTarget(line) || typeLabels.contains(line))
    }

    /// Labels under which a report states its kind of abuse (`Problem: MasterCard phishing site`).
    private static let typeLabels: Set<String> = [
        "problem", "reason", "category", "classification", "type", "abuse type", "incident type", "report type", "issue",
        "threat", "threat type", "nature of the threat", "attack vector", "attack vectors", "kategorie", "art des vorfalls", "problème", "catégorie",
    ]

    /// The type a report states in a labelled field, which outweighs the vote of its words
    /// (Spamhaus's notice of a phishing site says "spam" a dozen times in its boilerplate).
    static func statedType(_ lines: [LabelledLine]) -> AbuseType? {
        for line in lines where typeLabels.contains(line.label) {
            if let type = AbuseType(keywordsIn: line.value) { return type }
        }
        return nil
    }

    /// The type a ticket line names in parentheses after "abuse" (Cogent's "[Ticket 275346] Reporting
    /// Abuse (SPAM) for IP address: …", above a policy text that lists every kind of abuse).
    static func typeInParentheses(_ text: String) -> AbuseType? {
        for line in text.split(whereSeparator: \.isNewline).prefix(200) {
            let lower = line.prefix(300).lowercased()
            guard lower.includes("abuse ("), let open = lower.firstRange(of: "abuse ("), let close = lower[open.upperBound...].firstIndex(of: ")") else { continue }
            if let type = AbuseType(keywordsIn: String(lower[open.upperBound..<close])) { return type }
        }
        return nil
    }

    /// Whether a label or a heading (lower-cased) names targets or victims.
    /// "attacked" names victims in "the following addresses were attacked", attackers in "the
    /// following systems have attacked our systems".
    static func namesTarget(_ label: String) -> Bool {
        let namesAttackers = ["have attacked", "has attacked", "attacked our", "attacked us", "attacked my"].contains { label.includes($0) }
        return targetLabelWords.contains { label.includes($0) && !(namesAttackers && $0 == "attacked") }
    }

    /// The offending addresses of a complaint text: those on source-labelled lines when there are
    /// any, else every address not on a target-labelled line.
    static func offendingIPs(in text: String) -> UniqueList<IPAddress> {
        offendingIPs(parse(text), in: text)
    }

    /// offendingIPs(in:) of a text whose labelled lines are already parsed.
    static func offendingIPs(_ lines: [LabelledLine], in text: String) -> UniqueList<IPAddress> {
        let labelled = sourceLabelledIPs(lines)
        if !labelled.isEmpty { return labelled }
        var targets = UniqueList<IPAddress>()
        for line in lines where namesTarget(line.label) || line.isUnderTargetHeading {
            targets.add(contentsOf: IndicatorScanner.ips(in: line.value))
        }
        return UniqueList(IndicatorScanner.ips(in: text).filter { !targets.contains($0) })
    }

    /// The addresses on source-labelled lines.
    static func sourceLabelledIPs(_ lines: [LabelledLine]) -> UniqueList<IPAddress> {
        var found = UniqueList<IPAddress>()
        for line in sourceLines(lines) { found.add(contentsOf: IndicatorScanner.ips(in: line.value)) }
        return found
    }

    /// The networks a report names under a source label (`Source IP Address: 192.0.2.0/24`). Only
    /// there: a network in running text is far more often the range that was attacked or scanned.
    static func offendingNetworks(_ lines: [LabelledLine]) -> UniqueList<IPNetwork> {
        var found = UniqueList<IPNetwork>()
        for line in sourceLines(lines) { found.add(contentsOf: IndicatorScanner.networks(in: line.value)) }
        return found
    }

    private static func sourceLines(_ lines: [LabelledLine]) -> some Sequence<LabelledLine> {
        lines.lazy.filter { isSourceLabel($0.label) && !namesTarget($0.label) && !$0.isUnderTargetHeading }
    }
}
