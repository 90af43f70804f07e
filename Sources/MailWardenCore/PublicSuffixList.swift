// The Public Suffix List and the organisational domain of a DNS name (RFC 7489 section 3.2, DMARC).
// Entry points: `PublicSuffixList(text:)` builds the rules from the list's text, `load(path:)` reads
// the file once (the only I/O in this module), `organizationalDomain(of:)` answers in O(labels)
// hash look-ups. The whole list is used, private section included, as OpenDMARC does, so that our
// alignment agrees with the dmarc= results our own MX writes.
//
// Names are compared lowercased with one trailing dot dropped; IDNA A-labels are taken as given.
// Rules the list writes in U-labels therefore never match a name from mail: a name under one gets
// a shorter public suffix, hence a coarser organisational domain (fewer distinct reporters, never more).

import Foundation

/// The rules of the Public Suffix List (https://publicsuffix.org/list/), ready for look-ups.
public struct PublicSuffixList: Sendable {
    private var rules: Set<String> = []
    /// `*.ck` is kept as `ck`: any one label under it is a public suffix.
    private var wildcardParents: Set<String> = []
    /// `!www.ck` is kept as `www.ck`: that name is not a public suffix although a wildcard covers it.
    private var exceptions: Set<String> = []

    /// How many rules were read (normal, wildcard and exception).
    public var ruleCount: Int { rules.count + wildcardParents.count + exceptions.count }

    /// The fallback when the list cannot be read: no rules, so only the implicit `*` rule applies and
    /// the organisational domain is the last two labels. That is never finer than what the real list
    /// gives (its suffixes have at least one label), so distinct reporters can only merge, never
    /// multiply: a missing list makes fewer complaints count, never more. Strict alignment (the name
    /// itself) was rejected because one domain could then pose as many reporters through subdomains.
    public static let lastTwoLabels = PublicSuffixList(text: "")

    /// Reads the list's format: one rule per line up to the first white space, `//` comments.
    /// `icannOnly` stops at the private section: the registries' own suffixes, without the names
    /// companies hand out to anyone (duckdns.org, blogspot.com), under which everyone is one organisation.
    public init(text: String, icannOnly: Bool = false) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if icannOnly && line.contains("===BEGIN PRIVATE DOMAINS===") { break }
            guard let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                  !word.hasPrefix("//") else { continue }
            let rule = word.lowercased()
            if rule.hasPrefix("!") {
                exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                wildcardParents.insert(String(rule.dropFirst(2)))
            } else if !rule.contains("*") {
                // The list only puts `*` as a whole leftmost label; any other use is not a rule we can apply.
                rules.insert(rule)
            }
        }
    }

    /// Why the list could not be loaded; the caller falls back to `lastTwoLabels` and says so.
    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case unreadable(path: String)
        case noRules(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path):
                return "cannot read the public suffix list \(path): install the publicsuffix package or set public_suffix_list"
            case .noRules(let path):
                return "the public suffix list \(path) holds no rules: reinstall the publicsuffix package or set public_suffix_list"
            }
        }
    }

    /// Reads and parses the list at `path` (once, at start-up or reload; look-ups do no I/O).
    public static func load(path: String, icannOnly: Bool = false) throws(LoadError) -> PublicSuffixList {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        let list = PublicSuffixList(text: String(decoding: data, as: UTF8.self), icannOnly: icannOnly)
        // A truncated or wrong file would silently degrade every look-up to the implicit rule.
        guard list.ruleCount > 0 else { throw .noRules(path: path) }
        return list
    }

    /// The organisational domain of `name`, or nil when `name` is not a DNS name or is itself a
    /// public suffix (such a name aligns with nothing).
    public func organizationalDomain(of name: String) -> String? {
        guard let name = Self.normalized(name) else { return nil }
        let labels = name.split(separator: ".")
        let suffixLabels = publicSuffixLabelCount(labels)
        guard labels.count > suffixLabels else { return nil }
        return labels.suffix(suffixLabels + 1).joined(separator: ".")
    }

    /// Whether the name's top-level label is one the list knows, so that the name can exist: the
    /// list holds every delegated top-level domain. True when the list holds no rules (it could not
    /// be read) and for an IDNA top-level label (the list writes those in U-labels).
    public func knowsTopLevel(of name: String) -> Bool {
        guard ruleCount > 0, let name = Self.normalized(name), let top = name.split(separator: ".").last else { return ruleCount == 0 }
        return top.hasPrefix("xn--") || rules.contains(String(top)) || wildcardParents.contains(String(top))
    }

    /// RFC 7489 section 3.2 and the list's own algorithm: the longest matching rule wins, an
    /// exception wins over every rule and counts one label less, and with no match the implicit
    /// `*` rule makes the last label the suffix.
    private func publicSuffixLabelCount(_ labels: [Substring]) -> Int {
        var longest = 1
        var candidate = ""
        var parent = ""
        for (k, label) in labels.reversed().enumerated() {
            parent = candidate
            candidate = k == 0 ? String(label) : "\(label).\(candidate)"
            let count = k + 1
            if exceptions.contains(candidate) { return count - 1 }
            if rules.contains(candidate) || (count >= 2 && wildcardParents.contains(parent)) {
                longest = count
            }
        }
        return longest
    }

    /// `name` lowercased without its trailing dot, or nil unless it is a DNS name in A-label form:
    /// 1 to 63 letters, digits, `-` or `_` per label, at most 253 bytes in all.
    public static func normalized(_ name: String) -> String? {
        normalized(name.utf8[...])
    }

    /// One pass, no array of labels: the milter normalizes every recipient's domain.
    static func normalized(_ name: Substring.UTF8View) -> String? {
        let dot = UInt8(ascii: ".")
        let bytes = name.last == dot ? name.dropLast() : name
        guard !bytes.isEmpty, bytes.count <= 253 else { return nil }
        var labelLength = 0
        for byte in bytes {
            if byte == dot {
                guard labelLength > 0 else { return nil }
                labelLength = 0
            } else {
                guard isLabelByte(byte) else { return nil }
                labelLength += 1
                guard labelLength <= 63 else { return nil }
            }
        }
        guard labelLength > 0 else { return nil }
        return String(unsafeUninitializedCapacity: bytes.count) { buffer in
            for (i, byte) in bytes.enumerated() {
                buffer[i] = byte.asciiLowercased
            }
            return bytes.count
        }
    }

    private static func isLabelByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }
}

extension String {
    /// ASCII letters lowercased, every other character kept. Names from strangers are compared this
    /// way, not with `lowercased()`: Unicode case mapping turns U+212A KELVIN SIGN into `k`, so a
    /// field our MX does not recognise as its own (and does not strip) could match our authserv-id.
    var asciiLowercased: String {
        String(decoding: utf8.map(\.asciiLowercased), as: UTF8.self)
    }
}

extension UInt8 {
    /// An ASCII capital as its small letter, every other byte as it is.
    var asciiLowercased: UInt8 { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self }
}
