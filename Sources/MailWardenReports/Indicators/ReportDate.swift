// Dates as abuse reports write them, to Unix seconds: RFC 5322 (`Thu, 8 Mar 2005 14:00:00 EDT`,
// with or without the weekday, two-digit years, zone names or offsets), ISO 8601 and its
// relatives (`2015-07-23T01:58:17+00:00`, `2015-09-23 04:04:18 +0200`, `2015-05-15 17:03:11-07:00`,
// `2015-01-01`). A date without a zone is taken as UTC. Hand-written: DateFormatter needs one
// format per shape and is slow to build. A year outside `years` is no date: every format reads its
// dates here, so no year a stranger writes can overflow the arithmetic below.

public enum ReportDate {
    /// The years a report date may fall in; anything else is a typo or an attack, not a date.
    static let years = 1970...9999

    /// The first ctime date in `text` (`Mon Sep  7 12:00:00 2026`), as an mbox's `From ` line carries
    /// its delivery: in the delivery agent's local time, taken as UTC, unless a zone stands before the
    /// year (Google Takeout writes `+0000`). Not one of the shapes reports are read in.
    public static func asctime(_ text: String) -> Int64? {
        let t = tokenize(Substring(text.trimmingWhitespace()))
        for i in t.indices {
            guard i + 3 < t.count, t[i].count == 3, let month = months.firstIndex(of: t[i].lowercased()),
                  let day = Int(t[i + 1]), (1...31).contains(day), let (h, m, s, _) = clock(t[i + 2]) else { continue }
            // Int() reads a zone such as +0000 as a number: only digits make a year.
            let yearAt = t[i + 3].allSatisfy(\.isASCIIDigit) ? i + 3 : i + 4
            guard yearAt < t.count, t[yearAt].count == 4, t[yearAt].allSatisfy(\.isASCIIDigit), let year = Int(t[yearAt]) else { continue }
            let zone = yearAt == i + 4 ? zoneOffset(t[i + 3]) ?? 0 : 0
            return unixTime(year: year, month: month + 1, day: day, hour: h, minute: m, second: s).map { $0 - Int64(zone) }
        }
        return nil
    }

    /// A date that fills the whole of `text` (surrounding comments and punctuation allowed).
    static func parse(_ text: String) -> Int64? {
        let tokens = tokenize(Substring(text))
        return (0..<tokens.count).lazy.compactMap { parse(tokens, at: $0) }.first
    }

    /// The first date in running text, line by line.
    static func first(in text: String) -> Int64? {
        for line in text.prefix(ReportLimits.maxScannedTextBytes).split(whereSeparator: \.isNewline) {
            let tokens = tokenize(line)
            for i in tokens.indices {
                if let t = parse(tokens, at: i) { return t }
            }
        }
        return nil
    }

    private static func tokenize(_ text: Substring) -> [Substring] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "'" || $0 == "\"" || $0 == "*" })
    }

    private static func parse(_ tokens: [Substring], at i: Int) -> Int64? {
        rfc5322(tokens, at: i) ?? iso(tokens, at: i)
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// `D Mon YYYY HH:MM[:SS] [zone]`, with `i` at the day.
    private static func rfc5322(_ t: [Substring], at i: Int) -> Int64? {
        guard i + 3 < t.count, let day = Int(t[i]), (1...31).contains(day), t[i + 1].count >= 3,
              let month = months.firstIndex(of: t[i + 1].prefix(3).lowercased()),
              t[i + 2].allSatisfy(\.isASCIIDigit), var year = Int(t[i + 2]),
              let (h, m, s, attachedZone) = clock(t[i + 3]) else { return nil }
        if t[i + 2].count == 2 { year += year < 50 ? 2000 : 1900 }
        let zone = attachedZone ?? (i + 4 < t.count ? zoneOffset(t[i + 4]) : nil) ?? 0
        return unixTime(year: year, month: month + 1, day: day, hour: h, minute: m, second: s).map { $0 - Int64(zone) }
    }

    /// `YYYY-MM-DD`, optionally with `THH:MM[:SS[.fff]][zone]` or a separate time and zone.
    private static func iso(_ t: [Substring], at i: Int) -> Int64? {
        let token = t[i]
        guard token.count >= 10 else { return nil }
        let date = token.prefix(10)
        let parts = date.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var rest = token.dropFirst(10)
        var timeToken: Substring?
        var nextIndex = i + 1
        if rest.first == "T" || rest.first == "t" {
            rest = rest.dropFirst()
            timeToken = rest
        } else if !rest.isEmpty {
            return nil
        } else if nextIndex < t.count, t[nextIndex].contains(":") {
            timeToken = t[nextIndex]
            nextIndex += 1
        }
        guard let time = timeToken else {
            return unixTime(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        }
        guard let (h, m, s, attachedZone) = clock(time) else { return nil }
        let zone = attachedZone ?? (nextIndex < t.count ? zoneOffset(t[nextIndex]) : nil) ?? 0
        return unixTime(year: year, month: month, day: day, hour: h, minute: m, second: s).map { $0 - Int64(zone) }
    }

    /// `HH:MM[:SS[.fff]]` with an optional zone glued on (`Z`, `+00:00`, `-0700`).
    private static func clock(_ token: Substring) -> (Int, Int, Int, Int?)? {
        var body = token
        var zone: Int?
        if let z = body.firstIndex(where: { $0 == "Z" || $0 == "z" || $0 == "+" || $0 == "-" }) {
            zone = zoneOffset(body[z...])
            guard zone != nil else { return nil }
            body = body[..<z]
        }
        let fields = body.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3, let h = Int(fields[0]), let m = Int(fields[1]),
              fields[0].count <= 2, fields[1].count == 2, (0...23).contains(h), (0...59).contains(m) else { return nil }
        var s = 0
        if fields.count == 3 {
            let whole = fields[2].split(separator: ".").first ?? ""
            guard whole.count == 2, let sec = Int(whole), (0...60).contains(sec) else { return nil }
            s = sec
        }
        return (h, m, s, zone)
    }

    private static let zoneNames: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
        "mdt": -6, "pst": -8, "pdt": -7, "akst": -9, "akdt": -8, "hst": -10, "cet": 1, "cest": 2, "met": 1,
        "mest": 2, "west": 1, "bst": 1, "eet": 2, "eest": 3, "msk": 3, "pkt": 5, "sgt": 8, "hkt": 8,
        "awst": 8, "jst": 9, "kst": 9, "aest": 10, "aedt": 11, "nzst": 12, "nzdt": 13,
    ]

    /// Seconds east of UTC for `+0200`, `-07:00`, `+01`, `Z` or a zone name; nil for anything else.
    private static func zoneOffset(_ token: Substring) -> Int? {
        let text = token.trimmingPunctuation()
        if let first = text.first, first == "+" || first == "-" {
            let digits = text.dropFirst().filter(\.isASCIIDigit)
            guard digits.count == 4 || digits.count == 2, text.dropFirst().allSatisfy({ $0.isASCIIDigit || $0 == ":" }) else { return nil }
            guard let hours = Int(digits.prefix(2)), let minutes = digits.count == 4 ? Int(digits.suffix(2)) : 0,
                  hours <= 14, minutes < 60 else { return nil }
            return (first == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
        }
        let name = text.lowercased()
        if name == "ist" { return 5 * 3600 + 1800 }
        return zoneNames[name].map { $0 * 3600 }
    }

    /// Unix seconds of a UTC civil time (days from civil, after H. Hinnant); nil for a year outside `years`.
    static func unixTime(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard years.contains(year) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}

extension StringProtocol {
    /// Without the brackets and punctuation that wrap a token in running text: `(EST)` → `EST`.
    func trimmingPunctuation() -> Substring {
        var s = Substring(self)
        while let f = s.first, "([{<.;".contains(f) { s = s.dropFirst() }
        while let l = s.last, ")]}>.;".contains(l) { s = s.dropLast() }
        return s
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
