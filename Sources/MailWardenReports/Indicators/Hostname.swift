// Names and addresses as a report states them: host names, the "registrable" part of a name that
// tells the reporter's own links from reported ones, and the addresses never reported.
import Foundation
import MailWardenCore

extension IPAddress {
    /// Addresses that never name an offender: unspecified, loopback, link-local, multicast, broadcast.
    var isNeverReported: Bool {
        if bytes.count == 4 {
            return bytes[0] == 0 || bytes[0] == 127 || bytes[0] >= 224 || (bytes[0] == 169 && bytes[1] == 254)
        }
        let loopback = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] <= 1
        return loopback || bytes[0] == 0xFF || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80)
    }
}

extension IPNetwork {
    /// Networks that never name an offender: one of never-reported addresses, or one broader than
    /// an IPv4 /16 or an IPv6 /32, a whole provider's or region's space with no one in it to act on.
    var isNeverReported: Bool {
        prefixLength < (base.bytes.count == 4 ? 16 : 32) || base.isNeverReported
    }
}

extension IPAddressOrNetwork {
    var isNeverReported: Bool {
        switch self {
        case .address(let address): address.isNeverReported
        case .network(let network): network.isNeverReported
        }
    }
}

enum Hostname {
    /// The lower-cased host name when `text` is one (two or more labels, an alphabetic top-level
    /// label), else nil.
    static func normalized(_ text: some StringProtocol) -> String? {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return nil }
        for label in labels {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-",
                  label.utf8.allSatisfy({ isLabelByte($0) }) else { return nil }
        }
        guard let top = labels.last, top.utf8.count >= 2, top.hasPrefix("xn--") || top.utf8.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else {
            return nil
        }
        return name
    }

    static func isLabelByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == ASCII.hyphen
    }

    /// Second-level labels under which country registries sell names (`example.co.uk`).
    private static let countrySecondLevels: Set<String> = [
        "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "ltd", "plc", "sch",
    ]

    /// The name a registrant holds: `mail.example.co.uk` → `example.co.uk`. An approximation of
    /// the public suffix list, good enough to tell the reporter's own names from reported ones.
    static func registrable(_ host: String) -> String {
        let labels = host.split(separator: ".")
        guard labels.count > 2 else { return host }
        let keep = labels[labels.count - 1].count == 2 && countrySecondLevels.contains(String(labels[labels.count - 2])) ? 3 : 2
        return labels.suffix(keep).joined(separator: ".")
    }

    /// The host of an `http`, `https` or `ftp` URL, lower-cased, or nil.
    static func ofURL(_ url: String) -> String? {
        // The standard library's search: Foundation's `range(of:)` bridges the string, and report
        // text can hold tens of thousands of URLs.
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close]).lowercased()
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : rest.lowercased()
    }
}
