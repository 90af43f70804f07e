// What kind of abuse a report is about. Explicit fields decide first (ARF Feedback-Type, X-ARF
// Report-Type and Category, XARF category and type, a CSV's type column); keywords in the
// subject and text, English and German (and a little Dutch), only when no field says.
import Foundation
import MailWardenCore

extension AbuseType {
    /// RFC 5965 / RFC 6591 `Feedback-Type` values, and `spam`, which feedback loops write although
    /// RFC 5965 does not name it. `other`, `not-spam` and unknown values need a person.
    init?(feedbackType: String) {
        switch feedbackType.trimmingWhitespace().lowercased() {
        case "abuse", "spam", "opt-out", "opt-out-list": self = .spam
        case "fraud", "auth-failure", "dmarc": self = .phishing
        case "virus": self = .malware
        default: return nil
        }
    }

    private static let names: [String: AbuseType] = {
        var table: [String: AbuseType] = [:]
        let groups: [(AbuseType, [String])] = [
            (.spam, ["spam", "messaging", "bulk", "uce", "ube", "comment-spam", "spamtrap", "unsolicited",
                     // X-ARF's `dnsbl-listing`: the address is on a DNS blocklist of spam sources. (IntelMQ's
                     // `blacklist` is not: its feeds list addresses for reasons they do not give.)
                     "dnsbl", "dnsbl-listing"]),
            (.phishing, ["phishing", "phish", "fraud", "scam", "spoofing", "impersonation", "auth-failure", "dmarc"]),
            (.malware, ["malware", "malware-attack", "malware-distribution", "virus", "trojan", "botnet", "bot", "drone",
                        "botnet-drone", "infected", "infection", "c2", "cnc", "c&c", "ransomware", "sinkhole",
                        // IntelMQ's taxonomy (RSIT): a compromised host runs someone else's code.
                        "infected-system", "c2-server", "malware-configuration", "system-compromise", "application-compromise"]),
            (.networkAbuse, ["login-attack", "regbot", "web-attack", "harvesting", "ddos", "dos", "scan", "scanner", "portscan",
                             "port-scan", "brute-force", "bruteforce", "hacking", "attack", "connection", "vulnerability",
                             "vulnerable", "open-service", "open-resolver", "openresolver", "open-proxy", "open-relay",
                             "intrusion", "exploit", "ssh", "dictionary-attack", "port-probe", "probe", "portprobe",
                             "vulnerable-system", "vulnerable-service", "ids-alert", "intrusion-attempts", "proxy"]),
            (.copyright, ["copyright", "trademark", "infringement", "dmca", "p2p", "piracy"]),
            (.accountMisuse, ["account-compromise", "compromised-account", "account-misuse", "account-takeover",
                              "hijacked-account", "compromised-credentials",
                              "privileged-account-compromise", "unprivileged-account-compromise"]),
        ]
        for (type, words) in groups { for w in words { table[compact(w)] = type } }
        return table
    }()

    /// A name without its separators: `login-attack`, `login_attack`, `Login Attack` and the older
    /// XARF JSON's `LoginAttack` are one name.
    private static func compact(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { !["-", "_", " "].contains($0) })
    }

    /// A type as a structured report names it (X-ARF `Report-Type`, XARF `type`, a CSV column):
    /// a known name, else what the value's words say. Generic values (`abuse`, `info`) give nil.
    init?(named value: String) {
        if let type = Self.names[Self.compact(value.trimmingWhitespace())] {
            self = type
        } else if let type = Self(keywordsIn: value) {
            self = type
        } else {
            return nil
        }
    }

    /// What a tool that reports one kind of abuse sends when its words name none (fail2ban's
    /// "abuse report about the IP address …", with only a WHOIS answer below), told by its name
    /// in the From field: fail2ban bans hosts that attack a service.
    init?(reportingTool from: String?) {
        guard let from = from?.prefix(256).lowercased(), from.includes("fail2ban") else { return nil }
        self = .networkAbuse
    }

    /// Words that point at a type; a phrase weighs more than a single word.
    private static let keywords: [(String, AbuseType, Int)] = [
        ("spam", .spam, 2), ("unsolicited", .spam, 2), ("junk mail", .spam, 2), ("bulk mail", .spam, 1),
        ("unerwünscht", .spam, 2), ("unerwuenscht", .spam, 2), ("werbung", .spam, 1), ("massenmail", .spam, 2),
        ("newsletter", .spam, 1), ("feedback loop", .spam, 2), ("fbl", .spam, 2),
        ("phishing", .phishing, 3), ("phish", .phishing, 3), ("fraud", .phishing, 2), ("betrug", .phishing, 2),
        ("fraudulent", .phishing, 2), ("frauduleu", .phishing, 2), ("credential", .phishing, 1), ("spoof", .phishing, 1),
        ("impersonat", .phishing, 1), ("imitating", .phishing, 2), ("gefälscht", .phishing, 1), ("dmarc", .phishing, 1), ("deceptive site", .phishing, 3),
        ("fake website", .phishing, 3), ("fake site", .phishing, 3), ("fake page", .phishing, 3), ("fake web page", .phishing, 3),
        // Google Safe Browsing's word for phishing: "Google detected 5 social engineering URLs".
        ("social engineering", .phishing, 3),
        // CERTs' notices of a "malicious redirection" (a shortener or redirector sending victims on).
        ("malicious redirect", .phishing, 3), ("redirector", .phishing, 2),
        ("malware", .malware, 3), ("virus", .malware, 2), ("viren", .malware, 2), ("trojan", .malware, 2), ("worm", .malware, 2),
        ("botnet", .malware, 3), ("drone", .malware, 2), ("infected", .malware, 2), ("infection", .malware, 2),
        ("infiziert", .malware, 2), ("ransomware", .malware, 3), ("schadsoftware", .malware, 3), ("schadcode", .malware, 3),
        ("command and control", .malware, 2), ("c&c", .malware, 2), ("unwanted software", .malware, 3),
        // Google Safe Browsing's notices name their kind in the text; its name alone leans to malware.
        ("safe browsing", .malware, 1),
        ("malicious content", .malware, 2), ("malicious software", .malware, 2), ("sinkhole", .malware, 2),
        ("drive-by", .malware, 3), ("webshell", .malware, 3), ("web shell", .malware, 3), ("backdoor", .malware, 3), ("skimmer", .malware, 3),
        ("schadprogramm", .malware, 3), ("kompromittierte", .malware, 2),
        ("attack", .networkAbuse, 2), ("attacked", .networkAbuse, 2), ("angriff", .networkAbuse, 2),
        ("brute force", .networkAbuse, 3), ("brute-force", .networkAbuse, 3), ("bruteforce", .networkAbuse, 3),
        ("ddos", .networkAbuse, 3), ("denial of service", .networkAbuse, 3), ("scan", .networkAbuse, 2),
        ("portscan", .networkAbuse, 3), ("port scan", .networkAbuse, 3), ("netzwerkscan", .networkAbuse, 3), ("open resolver", .networkAbuse, 3),
        ("openresolver", .networkAbuse, 3), ("open proxy", .networkAbuse, 3), ("open relay", .networkAbuse, 3),
        ("amplification", .networkAbuse, 2), ("harvesting", .networkAbuse, 2), ("dictionary attack", .networkAbuse, 3),
        ("login attempt", .networkAbuse, 2), ("failed login", .networkAbuse, 2), ("hacking", .networkAbuse, 2),
        // fail2ban's complain action: "Lines containing failures of 192.0.2.1"; WordPress login floods.
        ("lines containing failures", .networkAbuse, 3),
        // SSH traffic ("SSH top talkers blocked"), as a whole word: three letters alone turn up in any binary.
        ("ssh ", .networkAbuse, 1), ("xmlrpc.php", .networkAbuse, 2), ("wp-login.php", .networkAbuse, 2),
        // What attack logs and CERTs' notices of them say without naming the attack.
        ("malicious activit", .networkAbuse, 2), ("suspicious activity", .networkAbuse, 1), ("unauthorized access", .networkAbuse, 2),
        ("unauthorised access", .networkAbuse, 2), ("failed password", .networkAbuse, 2), ("invalid user", .networkAbuse, 2),
        ("authentication failure", .networkAbuse, 2), ("honeypot", .networkAbuse, 2), ("port probe", .networkAbuse, 3),
        ("sql injection", .networkAbuse, 3), ("credential stuffing", .networkAbuse, 3), ("break into", .networkAbuse, 3),
        ("breaking into", .networkAbuse, 3), ("suspicious traffic", .networkAbuse, 2), ("defaced", .networkAbuse, 3),
        ("defacement", .networkAbuse, 3),
        // Notices of weak spots: an open directory, a known vulnerability (`CVE-2023-6634`).
        ("directory listing", .networkAbuse, 2), ("open directory", .networkAbuse, 2), ("cve-", .networkAbuse, 2),
        // Attack logs that name no attack: "unwanted network activity", "malicious traffic … destination port".
        ("unwanted network activity", .networkAbuse, 3), ("malicious traffic", .networkAbuse, 2), ("malicious requests", .networkAbuse, 2),
        ("illegal resource access", .networkAbuse, 2), ("illegal access", .networkAbuse, 2), ("abusing our", .networkAbuse, 2),
        ("target port", .networkAbuse, 2), ("[syn]", .networkAbuse, 2), ("threat actor", .networkAbuse, 1), ("destination port", .networkAbuse, 2), ("been banned", .networkAbuse, 1),
        // "Account Takeover Attempts" from an address are a login attack, not a customer's stolen account.
        ("takeover attempt", .networkAbuse, 4),
        // "Abusive behavior was detected from the IP address …", "unusual activity coming from your IP
        // address", "we detected … Bad Bots": a host's traffic, not its content.
        ("abusive behavio", .networkAbuse, 2), ("network abuse", .networkAbuse, 2), ("unusual activity", .networkAbuse, 1), ("bad bot", .networkAbuse, 2),
        ("intrusion", .networkAbuse, 2), ("einbruch", .networkAbuse, 2), ("exploit", .networkAbuse, 1),
        // vulnerable, vulnerability, vulnerável, vulnerabile.
        ("vulner", .networkAbuse, 2), ("verwundbar", .networkAbuse, 2), ("anfällig", .networkAbuse, 1),
        // Shadowserver's report families: "Accessible RDP", "Open DNS Resolvers", "Block Listed".
        ("accessible", .networkAbuse, 2), ("exposed", .networkAbuse, 1), ("block listed", .spam, 2),
        ("blocklisted", .spam, 1), ("blacklisted", .spam, 1), ("blacklist severity", .spam, 2),
        ("copyright", .copyright, 3), ("infringement", .copyright, 3), ("infringing", .copyright, 3), ("dmca", .copyright, 3),
        ("urheberrecht", .copyright, 3), ("piracy", .copyright, 2), ("raubkopie", .copyright, 3),
        ("intellectual property", .copyright, 3), ("proprietà intellettuale", .copyright, 3), ("propriété intellectuelle", .copyright, 3),
        ("geistiges eigentum", .copyright, 3), ("unauthorised distribution", .copyright, 3), ("unauthorized distribution", .copyright, 3),
        // Notices of files shared over BitTorrent are rights holders'.
        ("bittorrent", .copyright, 3), ("peer-to-peer", .copyright, 2),
        // A brand owner's notice of its mark used without leave ("Notice of Trademark Abuse",
        // "TIM brand misuse") is a rights holder's, as a `trademark` field already is.
        ("trademark", .copyright, 1), ("brand misuse", .copyright, 2), ("brand abuse", .copyright, 2),
        // The same words in the other languages notices come in (Chinese, Japanese, Korean, Russian,
        // Spanish, Portuguese, French, Italian, Dutch, Polish): rights holders' agents write to a
        // host in its own language.
        ("版权", .copyright, 3), ("版權", .copyright, 3), ("著作権", .copyright, 3), ("저작권", .copyright, 3), ("侵权", .copyright, 3),
        ("侵權", .copyright, 3), ("авторск", .copyright, 3), ("derechos de autor", .copyright, 3), ("direitos autorais", .copyright, 3),
        ("d'auteur", .copyright, 3), ("d’auteur", .copyright, 3), ("d'autore", .copyright, 3), ("d’autore", .copyright, 3), ("auteursrecht", .copyright, 3),
        ("praw autorskich", .copyright, 3), ("prawa autorskie", .copyright, 3),
        ("垃圾邮件", .spam, 2), ("垃圾郵件", .spam, 2), ("迷惑メール", .spam, 2), ("スパム", .spam, 2), ("스팸", .spam, 2), ("спам", .spam, 2),
        ("钓鱼", .phishing, 3), ("釣魚", .phishing, 3), ("フィッシング", .phishing, 3), ("피싱", .phishing, 3), ("фишинг", .phishing, 3),
        ("恶意软件", .malware, 3), ("惡意軟體", .malware, 3), ("マルウェア", .malware, 3), ("악성코드", .malware, 3), ("вредонос", .malware, 3),
        ("攻击", .networkAbuse, 2), ("攻擊", .networkAbuse, 2), ("攻撃", .networkAbuse, 2), ("공격", .networkAbuse, 2), ("атак", .networkAbuse, 2),
        // Polish CERT notices of vulnerable ("podatne") or publicly accessible devices.
        ("podatn", .networkAbuse, 2), ("publicznie dostępn", .networkAbuse, 2),
        ("compromised account", .accountMisuse, 3), ("account compromise", .accountMisuse, 3),
        ("account takeover", .accountMisuse, 3), ("hijacked account", .accountMisuse, 3), ("account was hacked", .accountMisuse, 3),
        ("stolen account", .accountMisuse, 3), ("konto missbraucht", .accountMisuse, 3), ("gehacktes konto", .accountMisuse, 3),
        ("account misuse", .accountMisuse, 3), ("kompromittiertes konto", .accountMisuse, 3), ("zugangsdaten missbraucht", .accountMisuse, 3),
    ]

    /// The keywords by their first byte, as UTF-8, for a single pass over the text.
    private static let keywordsByFirstByte: [UInt8: [(index: Int, bytes: [UInt8])]] = {
        var table: [UInt8: [(index: Int, bytes: [UInt8])]] = [:]
        for (index, keyword) in keywords.enumerated() {
            let bytes = Array(keyword.0.utf8)
            table[bytes[0], default: []].append((index, bytes))
        }
        return table
    }()

    /// When weights tie, the type named first wins ("spam or fraud" is spam: reporters name the
    /// main thing first); named at one place, the more specific.
    private static let tieOrder: [AbuseType] = [.copyright, .phishing, .malware, .accountMisuse, .networkAbuse, .spam]

    /// The type the words of `text` point at most strongly (each keyword counted where a word
    /// starts, so plurals and German compounds match, at most five times), or nil when none does.
    /// Boilerplate lines (a pasted message's copyright footer) do not vote.
    init?(keywordsIn text: String, subject: String = "") {
        var score: [AbuseType: Int] = [:]
        // Where each type is first named, the subject before the text.
        var firstNamed: [AbuseType: Int] = [:]
        for (partIndex, (factor, part)) in [(2, subject), (1, text)].enumerated() where !part.isEmpty {
            let hits = Self.keywordHits(in: Self.withoutBoilerplate(part.prefix(ReportLimits.maxScannedTextBytes).lowercased()))
            for (index, hit) in hits.enumerated() where hit.count > 0 {
                let (_, type, weight) = Self.keywords[index]
                score[type, default: 0] += factor * weight * min(hit.count, 5)
                firstNamed[type] = min(firstNamed[type] ?? .max, partIndex * (ReportLimits.maxScannedTextBytes + 1) + hit.first)
            }
        }
        guard let best = score.values.max(), best > 0 else { return nil }
        let tied = Self.tieOrder.filter { score[$0] == best }
        guard let type = tied.min(by: { firstNamed[$0, default: .max] < firstNamed[$1, default: .max] }) else { return nil }
        self = type
    }

    /// Marks of a footer line (`© 2025 Shop`, `Copyright (c)`, `All rights reserved`, a pasted
    /// WHOIS answer's `# Copyright 1997-2024, American Registry…`) and of a virus scanner's stamp,
    /// in a pasted header (`X-Virus-Scanned: ClamAV`) or a footer ("This email has been scanned for
    /// threats by Mimecast", "checked for viruses by Avast"), which says nothing of the abuse.
    private static let boilerplateMarks = ["©", "copyright (c)", "# copyright", "all rights reserved", "alle rechte vorbehalten", "tous droits réservés",
                                           "x-virus-scanned:", "x-virus-status:", "x-virus-checked:", "x-antivirus",
                                           "been scanned", "scanned by", "checked for viruses", "virus-free",
                                           // A company's disclaimer: "check this email … for the presence of viruses",
                                           // "no representation is made that this email is free of viruses".
                                           "presence of viruses", "virus transmitted by", "viruses transmitted by", "free of viruses", "free from viruses"]

    /// Lower-cased `text` as UTF-8, less its boilerplate lines.
    private static func withoutBoilerplate(_ text: String) -> [UInt8] {
        guard boilerplateMarks.contains(where: { text.includes($0) }) else { return Array(text.utf8) }
        var kept: [UInt8] = []
        kept.reserveCapacity(text.utf8.count)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !boilerplateMarks.contains(where: { line.includes($0) }) {
            kept += line.utf8
            kept.append(UInt8(ascii: "\n"))
        }
        return kept
    }

    /// How often each keyword starts a word of `text` (lower-cased UTF-8; bytes of non-ASCII
    /// letters count as letters, so a keyword inside a word does not match), and where first.
    private static func keywordHits(in text: [UInt8]) -> [(count: Int, first: Int)] {
        var hits = [(count: Int, first: Int)](repeating: (0, 0), count: keywords.count)
        func isLetter(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b >= 0x80 }
        text.withUnsafeBufferPointer { t in
            for i in 0..<t.count {
                // A keyword starts a word; Chinese and Japanese (lead bytes E3–E9) write no spaces between words.
                guard i == 0 || !isLetter(t[i - 1]) || (0xE3...0xE9).contains(t[i]), let candidates = keywordsByFirstByte[t[i]] else { continue }
                for candidate in candidates where i + candidate.bytes.count <= t.count {
                    var j = 1
                    while j < candidate.bytes.count && t[i + j] == candidate.bytes[j] { j += 1 }
                    if j == candidate.bytes.count, !isCheckResult(t, after: i + j) {
                        if hits[candidate.index].count == 0 { hits[candidate.index].first = i }
                        hits[candidate.index].count += 1
                    }
                }
            }
        }
        return hits
    }

    /// The results of a receiver's checks that people paste: a header's `dmarc=pass`, `spam=0`, and
    /// Gmail's "Show original" summary, `DMARC: 'FAIL'`. A keyword naming a check says nothing of
    /// the report's type.
    private static func isCheckResult(_ t: UnsafeBufferPointer<UInt8>, after end: Int) -> Bool {
        guard end < t.count else { return false }
        if t[end] == UInt8(ascii: "=") { return true }
        guard t[end] == UInt8(ascii: ":") else { return false }
        var k = end + 1
        while k < t.count, k < end + 4, t[k] == UInt8(ascii: " ") || t[k] == UInt8(ascii: "'") || t[k] == UInt8(ascii: "\"") { k += 1 }
        return checkResults.contains { result in
            k + result.count <= t.count && result.indices.allSatisfy { t[k + $0] == result[$0] }
        }
    }

    private static let checkResults: [[UInt8]] = ["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"].map { Array($0.utf8) }
}
