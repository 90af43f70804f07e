// Substring search on UTF-8 bytes, and texts cut to a number of bytes. Foundation's `contains` and `range(of:)` go through UTF-16 on
// Linux and were the parser's top cost in a profile over the corpus; every reader asks "does this
// text mention X" of every text part, so the common answer (no) has to be cheap.

extension StringProtocol {
    /// Whether `needle` occurs in the text, byte for byte (case-sensitive).
    func includes(_ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard let first = pattern.first else { return true }
        let found = utf8.withContiguousStorageIfAvailable { haystack -> Bool in
            guard haystack.count >= pattern.count else { return false }
            var i = 0
            while i <= haystack.count - pattern.count {
                if haystack[i] == first {
                    var j = 1
                    while j < pattern.count && haystack[i + j] == pattern[j] { j += 1 }
                    if j == pattern.count { return true }
                }
                i += 1
            }
            return false
        }
        return found ?? String(self).includes(needle)
    }

    /// The text without leading and trailing characters of `set`.
    func trimming(_ set: Set<Character>) -> Substring {
        let s = Substring(self)
        guard let first = s.firstIndex(where: { !set.contains($0) }), let last = s.lastIndex(where: { !set.contains($0) }) else { return "" }
        return s[first...last]
    }
}

extension String {
    /// At most `maxBytes` bytes of the text, cut before the first byte of a character: a cut inside
    /// one would decode to a replacement character (3 bytes), overrunning the limit it keeps.
    func utf8Prefix(_ maxBytes: Int) -> String {
        guard utf8.count > maxBytes else { return self }
        guard maxBytes > 0 else { return "" }
        var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return String(self[..<end])
    }
}
