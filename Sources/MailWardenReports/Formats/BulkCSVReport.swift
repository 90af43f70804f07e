// Bulk reports: CSV attachments (Shadowserver, AbuseHub and the like), plain or zipped, JSON event
// lists (IntelMQ's, which national CERTs send), and the tables other reports draw in their text.
// Each distinct IP becomes one entry, typed by its own row when the row says, else by the file
// name, else by the report's words.
import Foundation
import MailWardenCore

enum BulkCSVReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let documents = csvDocuments(message, budget: budget, truncated: &draft.isTruncated)
        guard !documents.isEmpty else { return false }
        let reportType = AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
        var sawTable = false
        for (name, table) in documents {
            let fallback = AbuseType(keywordsIn: name) ?? reportType
            draft.isTruncated = draft.isTruncated || table.isTruncated
            sawTable = TableRows.add(table.records, fallback: fallback, to: &draft, budget: budget) || sawTable
        }
        guard sawTable else { return false }
        draft.format = .csv
        draft.settleEntryTypes(fallback: reportType)
        return true
    }

    private static func isTableFile(_ name: String) -> Bool { [".csv", ".tsv"].contains(where: name.lowercased().hasSuffix) }

    /// CSV attachments by type or name, JSON event lists, and the CSV files inside ZIP attachments.
    private static func csvDocuments(_ message: ReportMessage, budget: DecodeBudget, truncated: inout Bool) -> [(name: String, table: TableRecords)] {
        var documents: [(String, TableRecords)] = []
        for part in message.attachments {
            let name = part.filename ?? ""
            if part.mediaType == "text/csv" || isTableFile(name) {
                documents.append((name, TextTable.csv(part.text)))
            } else if part.mediaType.contains("json") || name.lowercased().hasSuffix(".json"), let events = TextTable.jsonEvents(part.body) {
                documents.append((name, events))
            } else if ZIPArchive.looksLikeZIP(part.body) {
                for entry in ZIPArchive.entries(part.body, budget: budget) where isTableFile(entry.name) {
                    documents.append((entry.name, TextTable.csv(String(mailBytes: entry.bytes))))
                    truncated = truncated || entry.isTruncated
                }
            }
        }
        return documents
    }
}

/// The rows of a table (CSV or drawn) as bulk entries.
enum TableRows {
    // IntelMQ's dotted names (`source.ip`, `classification.type`) read with `_` for the dot.
    private static let ipColumns = ["ip", "src_ip", "source_ip", "sourceip", "ip_address", "ipaddress", "src", "source",
                                    "source_address", "host_ip", "infringer_ip", "offending_ip", "attacker_ip",
                                    // Shadowserver's sinkhole HTTP referer report: the referring (infected) site.
                                    "http_referer_ip"]
    private static let urlColumns: Set<String> = ["url", "uri", "src_url", "source_url", "http_url"]
    private static let domainColumns: Set<String> = ["domain", "src_domain", "source_domain", "reported_domain", "source_fqdn"]
    /// The site a `url` column's path is on (Shadowserver's compromised_website: `url` = `wp-includes/x.php`).
    private static let hostColumns = ["http_host", "host", "vhost"]
    private static let timeColumns = ["timestamp", "time", "date", "datetime", "first_seen", "event_time", "last_seen", "time_source"]
    private static let typeColumns = ["type", "report_type", "category", "classification", "infection", "malware",
                                      "virusname", "threat", "tag", "abuse_type", "event_type", "feed_name", "feed",
                                      "classification_type", "classification_taxonomy"]

    /// Adds one entry per row with an address in an IP column; false when the table has no IP column.
    static func add(_ records: [[String]], fallback: AbuseType?, to draft: inout ReportDraft, budget: DecodeBudget) -> Bool {
        guard records.count >= 2 else { return false }
        let header = records[0].map { name in
            String(name.lowercased().map { $0 == " " || $0 == "-" || $0 == "." ? "_" : $0 })
        }
        guard let ipColumn = ipColumns.lazy.compactMap({ header.firstIndex(of: $0) }).first else { return false }
        // Column positions are looked up once per table: a wide header must not cost its width on every row.
        let typeIndices = typeColumns.compactMap { header.firstIndex(of: $0) }
        let timeIndices = timeColumns.compactMap { header.firstIndex(of: $0) }
        let urlIndices = header.indices.filter { urlColumns.contains(header[$0]) }
        let domainIndices = header.indices.filter { domainColumns.contains(header[$0]) }
        let hostIndices = hostColumns.compactMap { header.firstIndex(of: $0) }
        func cells(_ row: [String], _ indices: [Int]) -> [String] {
            indices.filter { $0 < row.count && !row[$0].isEmpty }.map { row[$0] }
        }
        // A table repeats a handful of type names in every row; each is read once.
        var typeNames: [String: AbuseType?] = [:]
        func type(named name: String) -> AbuseType? {
            if let known = typeNames[name] { return known }
            let type = AbuseType(named: name)
            typeNames[name] = type
            return type
        }
        var added = false
        for row in records.dropFirst() where ipColumn < row.count {
            guard budget.spend(ReportLimits.stepsPerTableRow) else {
                draft.isTruncated = true
                break
            }
            // A blocklist's row may name a network (`192.0.2.8/29`): the entry is that network.
            guard let source = IPAddressOrNetwork(row[ipColumn].trimmingWhitespace()), !source.isNeverReported else { continue }
            let types = cells(row, typeIndices)
            let type = types.lazy.compactMap(type(named:)).first ?? fallback
            var urls: [String] = []
            let host = cells(row, hostIndices).first
            for cell in cells(row, urlIndices) {
                // A request line (Shadowserver's `http_url`: `GET /path HTTP/1.1`) names its target.
                let words = cell.split(separator: " ")
                let target = words.count == 3 && words[2].hasPrefix("HTTP/") ? String(words[1]) : cell
                guard !target.contains(" "),
                      let url = target.contains("://") ? target : host.map({ "http://\($0)/" + target.drop(while: { $0 == "/" }) }) else { continue }
                draft.addURL(url)
                urls.append(url)
            }
            var domains = urls.compactMap(Hostname.ofURL).compactMap { Hostname.normalized($0) }
            for domain in cells(row, domainIndices) {
                draft.addDomain(domain)
                domains += Hostname.normalized(domain).map { [$0] } ?? []
            }
            let time = cells(row, timeIndices).lazy.compactMap(ReportDate.parse).first
            draft.addEntry(source, type: type, domains: domains, urls: urls, receivedAt: time)
            added = true
        }
        return added
    }
}
