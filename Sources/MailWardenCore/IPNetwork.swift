// IPv4/IPv6 addresses and CIDR networks for `trusted_networks` and the `client_address` rule.
// Parsed here in Swift so the core stays free of C; anything that does not parse is not an address.

/// An IP address as its 4 or 16 bytes.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    fileprivate init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init?(_ text: String) {
        var t = Substring(text)
        if t.hasPrefix("[") && t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        if t.lowercased().hasPrefix("ipv6:") { t = t.dropFirst(5) }
        if let v4 = Self.parseV4(t) {
            bytes = v4
        } else if let v6 = Self.parseV6(t) {
            // An IPv4-mapped IPv6 address is the IPv4 address for matching purposes.
            if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xff && v6[11] == 0xff {
                bytes = Array(v6[12...])
            } else {
                bytes = v6
            }
        } else {
            return nil
        }
    }

    /// Not an address an offender sends from on the Internet: private (RFC 1918, ULA), shared (CGN),
    /// loopback, link-local, multicast, reserved, benchmarking; the IPv6 transition relays (6to4,
    /// Teredo) and Microsoft's internal relays (2603:1000::/24) that big providers' own hops show in
    /// Received fields. No case is filed on one. The documentation ranges (RFC 5737, RFC 3849) count
    /// as public: examples and tests use them.
    public var isInternal: Bool {
        Self.internalNetworks.contains { $0.contains(self) }
    }

    fileprivate static let internalNetworks: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
        "::/127", "100::/64", "2001::/32", "2002::/16", "2603:1000::/24", "fc00::/7", "fe80::/10", "ff00::/8",
    ].compactMap(IPNetwork.init)

    /// 127.0.0.0/8 or ::1: only this machine can reach it.
    public var isLoopback: Bool {
        bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        // RFC 5952: lowercase hex, no leading zeros, the longest run (2+) of zero groups as `::`.
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best = (start: -1, length: 1)
        var run = (start: -1, length: 0)
        for (i, g) in groups.enumerated() {
            if g == 0 {
                run = run.start < 0 ? (i, 1) : (run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        let text = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return text.joined(separator: ":") }
        let head = text[..<best.start].joined(separator: ":")
        let tail = text[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    static func parseV4(_ t: Substring) -> [UInt8]? {
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCIIDigit), let n = UInt8(p) else { return nil }
            out.append(n)
        }
        return out
    }

    static func parseV6(_ t: Substring) -> [UInt8]? {
        guard t.contains(":"), t.count <= 45 else { return nil }
        let halves = t.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains("."), let v4 = parseV4(p) {
                    out += v4
                    continue
                }
                guard (1...4).contains(p.count), let n = UInt16(p, radix: 16) else { return nil }
                out += [UInt8(n >> 8), UInt8(n & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// A CIDR network such as `192.0.2.0/24` or `2001:db8::/32`; a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let base: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addr = IPAddress(String(parts[0])) else { return nil }
        let maxLength = addr.bytes.count * 8
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...maxLength).contains(n) else { return nil }
            prefixLength = n
        } else {
            prefixLength = maxLength
        }
        base = addr
    }

    private init(base: IPAddress, prefixLength: Int) {
        self.base = base
        self.prefixLength = prefixLength
    }

    /// The same network with its host bits cleared: `192.0.2.77/24` is `192.0.2.0/24`.
    public var masked: IPNetwork {
        var bytes = base.bytes
        for i in bytes.indices {
            let kept = min(8, max(0, prefixLength - i * 8))
            bytes[i] &= UInt8(truncatingIfNeeded: 0xff << (8 - kept))
        }
        return IPNetwork(base: IPAddress(bytes: bytes), prefixLength: prefixLength)
    }

    /// Whether the two share an address: the broader one holds the other's first address.
    public func overlaps(_ other: IPNetwork) -> Bool {
        prefixLength <= other.prefixLength ? contains(other.base) : other.contains(base)
    }

    /// Whether any of its addresses is internal (`IPAddress.isInternal`): a network reaching into a
    /// private range is nobody's to act on as a whole.
    public var isInternal: Bool {
        IPAddress.internalNetworks.contains { overlaps($0) }
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<base.bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if address.bytes[i] & mask != base.bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(base)/\(prefixLength)" }
}

/// An address or a network as reports and admins write them: `192.0.2.7`, `192.0.2.0/24` (its host
/// bits cleared), `192.0.2.7/32` (one address). What a case about an IP is filed on.
public enum IPAddressOrNetwork: Sendable, Hashable, CustomStringConvertible {
    case address(IPAddress)
    case network(IPNetwork)

    public init?(_ text: String) {
        if let address = IPAddress(text) {
            self = .address(address)
        } else if text.contains("/"), let network = IPNetwork(text)?.masked {
            self = network.prefixLength == network.base.bytes.count * 8 ? .address(network.base) : .network(network)
        } else {
            return nil
        }
    }

    /// A case on it is about an `ip` or a `network`.
    public var subjectKind: SubjectKind {
        if case .network = self { return .network }
        return .ip
    }

    /// Whether it is, or reaches into, a non-public range.
    public var isInternal: Bool {
        switch self {
        case .address(let address): address.isInternal
        case .network(let network): network.isInternal
        }
    }

    public var description: String {
        switch self {
        case .address(let address): address.description
        case .network(let network): network.description
        }
    }
}
