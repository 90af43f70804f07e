// Finds IPv4 and IPv6 addresses, URLs, e-mail addresses and bare domain names in report text.
// Hand-written scanners rather than regular expressions: one linear pass each over at most
// `ReportLimits.maxScannedTextBytes`, so no input can make them slow. Defanged indicators
// (`hxxp://`, `example[.]com`, `192.0.2[.]10`, `user[at]example.com`) are re-fanged first.
import MailWardenCore

/// The names one piece of text mentions, each list in order of first mention, without repeats.
struct TextIndicators {
    var urls = UniqueList<String>()
    var emails = UniqueList<String>()
    var domains = UniqueList<String>()
}

enum IndicatorScanner {
    /// URLs, e-mail addresses, and domain names outside them.
    static func scan(_ text: String) -> TextIndicators {
        let bytes = Array(refanged(text).utf8.prefix(ReportLimits.maxScannedTextBytes))
        var found = TextIndicators()
        var covered = [Bool](repeating: false, count: bytes.count)
        for (range, url) in urls(in: bytes) {
            for i in range { covered[i] = true }
            found.urls.add(url)
        }
        for (range, email) in emails(in: bytes, skipping: covered) {
            for i in range { covered[i] = true }
            found.emails.add(email)
        }
        found.domains = domains(in: bytes, skipping: covered, schemelessURLs: &found.urls)
        return found
    }

    /// The IP addresses in text, outside URLs (an address in a link's query string names nothing;
    /// a URL's own host is reported with the URL).
    static func ips(in text: String) -> UniqueList<IPAddress> {
        addresses(in: text).ips
    }

    /// The CIDR networks in text (`192.0.2.0/24`), host bits cleared, outside URLs; those that
    /// `isNeverReported` leaves out are not taken.
    static func networks(in text: String) -> UniqueList<IPNetwork> {
        addresses(in: text).networks
    }

    private static func addresses(in text: String) -> (ips: UniqueList<IPAddress>, networks: UniqueList<IPNetwork>) {
        let bytes = Array(refanged(text).utf8.prefix(ReportLimits.maxScannedTextBytes))
        var covered = [Bool](repeating: false, count: bytes.count)
        for (range, _) in urls(in: bytes) {
            for i in range { covered[i] = true }
        }
        return addresses(in: bytes, skipping: covered)
    }

    // MARK: - Re-fanging

    private static let refangs: [(String, String)] = [
        ("hxxps://", "https://"), ("hxxp://", "http://"), ("hxxps[:]//", "https://"), ("hxxp[:]//", "http://"),
        ("[://]", "://"), ("[:]//", "://"), ("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."),
        ("[@]", "@"), ("[at]", "@"), ("(@)", "@"),
    ]

    private static let refangBytes = refangs.map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// `text` with defanged notation undone; one pass, ASCII case ignored.
    static func refanged(_ text: String) -> String {
        let b = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        var changed = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "(") || c == UInt8(ascii: "{") || c | 0x20 == UInt8(ascii: "h"),
               let (from, to) = refangBytes.first(where: { from, _ in
                   i + from.count <= b.count && zip(from, b[i...]).allSatisfy { $0 == $1 || ($0 >= 0x61 && $0 <= 0x7A && $0 == $1 | 0x20) }
               }) {
                out += to
                i += from.count
                changed = true
            } else {
                out.append(c)
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    // MARK: - Scanners over ASCII bytes

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private static func isHex(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
    }
    private static func isAlnum(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z"))
    }

    private static func urls(in b: [UInt8]) -> [(Range<Int>, String)] {
        var found: [(Range<Int>, String)] = []
        let schemes = ["http://", "https://", "ftp://"].map { Array($0.utf8) }
        var i = 0
        while i < b.count {
            guard b[i] | 0x20 == UInt8(ascii: "h") || b[i] | 0x20 == UInt8(ascii: "f"),
                  i == 0 || !isAlnum(b[i - 1]),
                  let scheme = schemes.first(where: { s in i + s.count <= b.count && zip(s, b[i...]).allSatisfy { $0 == $1 | 0x20 || $0 == $1 } }) else {
                i += 1
                continue
            }
            let end = urlEnd(b, from: i + scheme.count)
            let url = decodedEntities(String(decoding: b[i..<end], as: UTF8.self))
            if let host = Hostname.ofURL(url), Hostname.normalized(host) != nil || IPAddress(host) != nil {
                found.append((i..<end, url))
            }
            i = max(end, i + 1)
        }
        return found
    }

    /// Where a URL that goes on at `start` ends: at a space, a control byte or a byte no URL holds
    /// unescaped, less the sentence punctuation and closing brackets after it.
    private static func urlEnd(_ b: [UInt8], from start: Int) -> Int {
        var end = start
        while end < b.count, b[end] > 0x20, b[end] < 0x7F, !"<>\"'`|\\^{}".utf8.contains(b[end]) { end += 1 }
        while end > start, ".,;:!?)]*'".utf8.contains(b[end - 1]) { end -= 1 }
        return end
    }

    private static func emails(in b: [UInt8], skipping covered: [Bool]) -> [(Range<Int>, String)] {
        // Local-part characters, less those that also join query strings (`/ = ? &`).
        let localBytes = Set("!#$%'*+-^_`{|}~.".utf8)
        var found: [(Range<Int>, String)] = []
        for at in b.indices where b[at] == UInt8(ascii: "@") && !covered[at] {
            var start = at
            while start > 0, isAlnum(b[start - 1]) || localBytes.contains(b[start - 1]), !covered[start - 1] { start -= 1 }
            while start < at, b[start] == UInt8(ascii: ".") { start += 1 }
            var end = at + 1
            while end < b.count, Hostname.isLabelByte(b[end]) || b[end] == UInt8(ascii: ".") { end += 1 }
            while end > at + 1, b[end - 1] == UInt8(ascii: ".") || b[end - 1] == ASCII.hyphen { end -= 1 }
            guard start < at, let domain = Hostname.normalized(String(decoding: b[(at + 1)..<end], as: UTF8.self)) else { continue }
            let local = String(decoding: b[start..<at], as: UTF8.self)
            found.append((start..<end, "\(local.lowercased())@\(domain)"))
        }
        return found
    }

    private static func addresses(in b: [UInt8], skipping covered: [Bool]) -> (ips: UniqueList<IPAddress>, networks: UniqueList<IPNetwork>) {
        var found = UniqueList<IPAddress>()
        var networks = UniqueList<IPNetwork>()
        func add(_ ip: IPAddress) {
            if !ip.isNeverReported { found.add(ip) }
        }
        var i = 0
        while i < b.count {
            guard !covered[i], isHex(b[i]) || b[i] == ASCII.colon, i == 0 || !(isAlnum(b[i - 1]) || b[i - 1] == UInt8(ascii: ".")) else {
                i += 1
                continue
            }
            // The longest run of address characters; IPv6 if it has two colons, else IPv4.
            var end = i
            while end < b.count, isHex(b[end]) || b[end] == ASCII.colon || b[end] == UInt8(ascii: ".") { end += 1 }
            defer { i = max(end, i + 1) }
            let colons = b[i..<end].lazy.filter { $0 == ASCII.colon }.count
            guard colons >= 2 || b[i..<end].contains(UInt8(ascii: ".")) else { continue }
            var token = Substring(String(decoding: b[i..<end], as: UTF8.self))
            while token.hasSuffix(".") { token.removeLast() }
            // A version number or a longer dotted run (`1.2.3.4.5`) is no address; a host name that
            // starts with four numbers is one only as a blocklist's or in-addr.arpa's query name.
            if end < b.count, isAlnum(b[end]) || b[end] == UInt8(ascii: "_") {
                guard b[end - 1] == UInt8(ascii: "."), token.split(separator: ".").count == 4 else { continue }
                var zoneEnd = end
                while zoneEnd < b.count, Hostname.isLabelByte(b[zoneEnd]) || b[zoneEnd] == UInt8(ascii: ".") { zoneEnd += 1 }
                let zone = String(decoding: b[end..<zoneEnd], as: UTF8.self).lowercased()
                if isReversedAddressZone(zone), let ip = IPAddress(token.split(separator: ".").reversed().joined(separator: ".")) { add(ip) }
                end = zoneEnd
                continue
            }
            // `192.0.2.0/24` is a network, never one address (whether it is a source or a target
            // range is for the caller to tell); `192.0.2.1/32` (`/128`) is one address.
            if end + 1 < b.count, b[end] == UInt8(ascii: "/"), isDigit(b[end + 1]) {
                var lengthEnd = end + 1
                while lengthEnd < b.count, isDigit(b[lengthEnd]), lengthEnd - end <= 3 { lengthEnd += 1 }
                let length = String(decoding: b[(end + 1)..<lengthEnd], as: UTF8.self)
                guard length == (colons >= 2 ? "128" : "32") else {
                    if lengthEnd == b.count || !isAlnum(b[lengthEnd]), let network = IPNetwork("\(token)/\(length)")?.masked, !network.isNeverReported {
                        networks.add(network)
                    }
                    end = lengthEnd
                    continue
                }
            }
            if colons >= 2 {
                if token.hasSuffix(":") && !token.hasSuffix("::") { token.removeLast() }
                if let ip = IPAddress(String(token)) { add(ip) }
            } else {
                // `192.0.2.1:8080` names the address and a port.
                let address = token.split(separator: ":", maxSplits: 1).first ?? token
                if address.split(separator: ".", omittingEmptySubsequences: false).count == 4, let ip = IPAddress(String(address)) {
                    add(ip)
                }
            }
        }
        return (found, networks)
    }

    /// Operators of DNS blocklists whose zones have no `bl` label of their own (`zen.spamhaus.org`).
    private static let blocklistOperators = ["spamhaus.org", "spamcop.net", "sorbs.net", "abuseat.org", "uceprotect.net", "surriel.com",
                                             "barracudacentral.org", "mailspike.net", "spameatingmonkey.net", "abusix.zone"]

    /// Whether a DNS zone is queried with an address's numbers reversed (`2.0.0.127.zen.spamhaus.org`,
    /// Synacor's `…​.synbl`, `…​.in-addr.arpa`): a blocklist's (a label ending in `bl`, or a known
    /// operator's) or reverse DNS.
    private static func isReversedAddressZone(_ zone: String) -> Bool {
        let labels = zone.split(separator: ".")
        return zone.hasPrefix("in-addr.arpa") || labels.contains { $0.hasSuffix("bl") }
            || blocklistOperators.contains { zone == $0 || zone.hasSuffix("." + $0) }
    }

    /// File extensions that look like top-level domains in running text (`report.txt`).
    private static let fileExtensions: Set<String> = [
        "txt", "log", "csv", "xml", "json", "yaml", "yml", "html", "htm", "php", "asp", "aspx", "jsp", "cgi",
        "js", "css", "exe", "dll", "zip", "gz", "tgz", "rar", "pdf", "doc", "docx", "xls", "xlsx", "jpg",
        "jpeg", "png", "gif", "eml", "msg", "asc", "sig", "pl", "py", "sh", "bat", "conf", "ini", "bin",
    ]

    /// Domain names outside URLs and addresses; a name followed by a path (`shop.example/login.php`,
    /// a URL written without its scheme) is a URL, `http://` added, in `schemelessURLs`.
    private static func domains(in b: [UInt8], skipping covered: [Bool], schemelessURLs: inout UniqueList<String>) -> UniqueList<String> {
        var found = UniqueList<String>()
        var i = 0
        while i < b.count {
            guard !covered[i], isAlnum(b[i]), i == 0 || !(Hostname.isLabelByte(b[i - 1]) || "._/@=".utf8.contains(b[i - 1])) else {
                i += 1
                continue
            }
            var end = i
            while end < b.count, Hostname.isLabelByte(b[end]) || b[end] == UInt8(ascii: ".") { end += 1 }
            defer { i = max(end, i + 1) }
            if end < b.count, b[end] == UInt8(ascii: "_") || covered[end] { continue }
            guard b[i..<end].contains(UInt8(ascii: ".")) else { continue }
            guard let name = Hostname.normalized(String(decoding: b[i..<end], as: UTF8.self)),
                  !fileExtensions.contains(String(name.split(separator: ".").last ?? "")) else { continue }
            if end + 1 < b.count, b[end] == UInt8(ascii: "/"), !covered[end] {
                let pathEnd = urlEnd(b, from: end + 1)
                if pathEnd > end + 1, !covered[pathEnd - 1] {
                    schemelessURLs.add(decodedEntities("http://" + String(decoding: b[i..<pathEnd], as: UTF8.self)))
                    end = pathEnd
                    continue
                }
            }
            found.add(name)
        }
        return found
    }

    /// HTML character references as they appear in URLs copied from HTML (`&amp;`).
    static func decodedEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            if let semi = tail.prefix(12).firstIndex(of: ";"), let scalar = entity(String(tail[tail.index(after: amp)..<semi])) {
                out.unicodeScalars.append(scalar)
                rest = tail[tail.index(after: semi)...]
            } else {
                out.append("&")
                rest = tail.dropFirst()
            }
        }
        return out + rest
    }

    private static func entity(_ name: String) -> Unicode.Scalar? {
        switch name.lowercased() {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "nbsp": return " "
        default:
            if name.hasPrefix("#x") || name.hasPrefix("#X") { return UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
            if name.hasPrefix("#") { return UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init) }
            return nil
        }
    }
}

/// A list in order of first insertion, without repeats, holding at most `ReportLimits.maxIndicators`.
struct UniqueList<Element: Hashable>: Sequence {
    private(set) var items: [Element] = []
    private var seen: Set<Element> = []

    init() {}

    init(_ elements: some Sequence<Element>) {
        add(contentsOf: elements)
    }

    mutating func add(_ element: Element) {
        guard items.count < ReportLimits.maxIndicators, seen.insert(element).inserted else { return }
        items.append(element)
    }

    mutating func add(contentsOf elements: some Sequence<Element>) {
        for e in elements { add(e) }
    }

    func contains(_ element: Element) -> Bool { seen.contains(element) }
    var isEmpty: Bool { items.isEmpty }
    func makeIterator() -> IndexingIterator<[Element]> { items.makeIterator() }
}
