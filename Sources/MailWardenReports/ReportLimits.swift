// Every cap the report parser applies to input that a stranger controls, in one place.
// Past a cap the parser keeps what it has and goes on (or stops descending); it never fails
// and never grows without bound, and the report says `isTruncated`. There are no regular
// expressions to bound: every scanner is one linear pass over text already cut to these caps.

/// The bounds of one `ReportParser.parse` call.
public enum ReportLimits {
    /// Bytes of the raw message looked at; the rest is ignored (ingest should cap earlier).
    public static let maxMessageBytes = 64 << 20
    /// Header fields kept per header block (the message's and each part's).
    public static let maxHeaderCount = 1_000
    /// Bytes of one unfolded header field value.
    public static let maxHeaderValueBytes = 64 << 10
    /// Nesting of multiparts and attached messages below the top.
    public static let maxMIMEDepth = 20
    /// MIME parts in one message, counted across all depths.
    public static let maxParts = 1_000
    /// Decoded bytes (base64, quoted-printable, ZIP inflation) held for one message, all parts together.
    public static let maxDecodedBytes = 48 << 20
    /// Report text scanned for indicators, dates, labels and keywords (bytes; characters where
    /// the text is cut as a string).
    public static let maxScannedTextBytes = 1 << 20
    /// Entries kept in each indicator list (IPs, domains, URLs, e-mail addresses) and bulk entries.
    public static let maxIndicators = 10_000
    /// Rows read from one CSV or text table.
    public static let maxTableRows = 100_000
    /// Cells kept in one CSV row; the rest of a wider row is dropped.
    public static let maxTableColumns = 1_000
    /// XML tags read from one document.
    public static let maxXMLElements = 100_000
    /// Open XML elements kept; a deeper one is read as text of the innermost kept one.
    public static let maxXMLDepth = 100
    /// Entries read from one ZIP archive.
    public static let maxZIPEntries = 64
    /// Bytes of one structured document (JSON, XML, YAML) handed to its reader.
    public static let maxDocumentBytes = 4 << 20
    /// Steps of work for one parse, all passes together: a step is a byte a MIME level scans or an
    /// XML document holds (about 4 ns here), a table row costs `stepsPerTableRow`. Each cap above
    /// bounds one pass; this bounds how often nesting and many parts repeat them, to about 1 s of
    /// CPU: a message of `maxMessageBytes` read down four levels, or one table of `maxTableRows`.
    public static let maxWorkSteps = 4 * maxMessageBytes
    /// The steps of one table row: parsing its cells and reading its address, type and names
    /// costs about as much as scanning this many bytes.
    public static let stepsPerTableRow = 2_500
    /// The steps of one byte of a header value holding RFC 2047 encoded words, decoded: measured at
    /// 2 to 3 scanned bytes in UTF-8; the margin is for charsets Foundation decodes more slowly.
    public static let stepsPerEncodedWordByte = 16
}

/// What is left of the decoded-bytes, part and work budgets while one message is parsed.
final class DecodeBudget {
    private(set) var bytesLeft = ReportLimits.maxDecodedBytes
    private(set) var partsLeft = ReportLimits.maxParts
    private(set) var stepsLeft = ReportLimits.maxWorkSteps
    /// A pass stopped early because the work budget ran out (the report is then truncated).
    private(set) var isExhausted = false

    /// Spends `n` steps of work; false when fewer are left, and from then on for every later pass.
    func spend(_ n: Int) -> Bool {
        guard n <= stepsLeft else {
            stepsLeft = 0
            isExhausted = true
            return false
        }
        stepsLeft -= max(n, 0)
        return true
    }

    /// Counts `n` decoded bytes against the budget; decoders are given `bytesLeft` as their limit.
    func consume(_ n: Int) {
        bytesLeft -= min(max(n, 0), bytesLeft)
    }

    /// Takes one part from the budget; false when the message already has as many as allowed.
    func takePart() -> Bool {
        guard partsLeft > 0 else { return false }
        partsLeft -= 1
        return true
    }
}
