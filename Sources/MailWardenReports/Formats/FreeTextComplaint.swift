// Everything else is read as text: a complaint written by a person, a list of addresses under
// headings (Project Honey Pot), a table drawn with `|` (Clean MX). A list or table names the
// subjects itself, one entry per address; otherwise the text's addresses, URLs, e-mail addresses
// and domains are taken, less the reporter's own, ours and those of format publishers.
import MailWardenCore

enum FreeTextComplaint {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) {
        draft.format = .freeText
        let body = message.texts.joined(separator: "\n")
        // The labelled lines are parsed once, for the stated type and for the offending addresses.
        let bodyLines = LabelledLines.parse(body)
        let files = message.textFiles(budget: budget)
        // A type stated in an attached text (Spamhaus's SBL notice forwarded by a ticket system) outweighs the vote too.
        let reportType = LabelledLines.statedType(bodyLines)
            ?? LabelledLines.typeInParentheses(body)
            ?? files.lazy.compactMap { LabelledLines.statedType(LabelledLines.parse($0)) }.first
            ?? AbuseType(keywordsIn: body, subject: message.subject)
            ?? AbuseType(reportingTool: message.headers.value("From"))
        var victims = Set<IPAddress>()
        let listed = TableRows.add(TextTable.pipeRows(body), fallback: reportType, to: &draft, budget: budget)
            || addAddressList(body, to: &draft, victims: &victims)
        if !listed {
            let text = message.subject + "\n" + body
            let lines = LabelledLines.parse(message.subject) + bodyLines
            if let origin = Self.originBehindProxy(body) {
                draft.ips = origin
            } else {
                draft.ips = UniqueList(LabelledLines.offendingIPs(lines, in: text).items.filter { !victims.contains($0) })
                // Several addresses under source labels (a CERT's `IP: 192.0.2.1` for one infected
                // host after another) are a list of offenders: a case each, as for an attached list.
                let labelled = LabelledLines.sourceLabelledIPs(lines).items.filter { !victims.contains($0) }
                if labelled.count >= 2 { for ip in labelled { draft.addEntry(.address(ip), type: nil) } }
            }
            if draft.ips.isEmpty { draft.networks = LabelledLines.offendingNetworks(lines) }
            draft.addFreeText(IndicatorScanner.scan(text))
            // A CERT's notice often names only its own site in its text and lists the addresses in
            // an attached file: those are the subjects, not the site.
            if draft.ips.isEmpty && draft.networks.isEmpty { addAttachedList(files, to: &draft) }
        }
        draft.type = reportType
        draft.settleEntryTypes(fallback: reportType)
        if draft.receivedAt == nil { draft.receivedAt = ReportDate.first(in: body) }
    }

    /// A reverse proxy passing a report on to the host behind it names that host ("The actual host for
    /// shop.example are the following IP addresses. 192.0.2.1, 192.0.2.2.", Cloudflare): those are
    /// the offenders, not the proxy's own addresses that the report it quotes names.
    private static func originBehindProxy(_ text: String) -> UniqueList<IPAddress>? {
        for line in text.split(whereSeparator: \.isNewline).prefix(200) {
            let lower = line.prefix(1_000).lowercased()
            guard lower.includes("actual host"), lower.includes("ip address") else { continue }
            let origin = IndicatorScanner.ips(in: String(line.prefix(1_000)))
            return origin.isEmpty ? nil : origin
        }
        return nil
    }

    /// The first address of each line of attached text files: one is the report's source, more are
    /// entries of a list.
    private static func addAttachedList(_ files: [String], to draft: inout ReportDraft) {
        var found = UniqueList<IPAddress>()
        for file in files {
            for line in file.split(whereSeparator: \.isNewline) {
                if let ip = IndicatorScanner.ips(in: String(line)).items.first { found.add(ip) }
            }
        }
        if found.items.count == 1 {
            draft.ips.add(contentsOf: found.items)
        } else {
            for ip in found.items { draft.addEntry(.address(ip), type: nil) }
        }
    }

    /// Lines that hold one address and nothing else, each typed by the heading above its group
    /// (`IPs Engaged In Harvesting On Your Network:`). Two or more make a list. Addresses under a
    /// heading that names targets (`The following servers of ours were attacked:`) are victims: no
    /// entry, and never the source (the prose names that), so they go to `victims`.
    private static func addAddressList(_ text: String, to draft: inout ReportDraft, victims: inout Set<IPAddress>) -> Bool {
        var listed: [(IPAddress, AbuseType?)] = []
        var heading = ""
        // A heading's words are read once, when the first address under it shows, not once per address.
        var headingType: AbuseType?
        var headingNamesTargets = false
        var headingIsRead = true
        // Addresses on a heading's own line, not on lines of their own.
        var labelled = Set<IPAddress>()
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingWhitespace()
            if let ip = IPAddress(trimmed) {
                var addresses = [ip]
                if !headingIsRead {
                    headingType = AbuseType(keywordsIn: heading)
                    headingNamesTargets = LabelledLines.namesTarget(heading.lowercased())
                    headingIsRead = true
                    // A list aligned under its label's first entry (`Related IP address: 192.0.2.1`);
                    // it joins a list, it does not make one.
                    if let colon = heading.firstRange(of: ": "), let first = IPAddress(heading[colon.upperBound...].trimmingWhitespace()) {
                        addresses.insert(first, at: 0)
                        labelled.insert(first)
                    }
                }
                for ip in addresses {
                    if headingNamesTargets {
                        victims.insert(ip)
                    } else if !ip.isNeverReported {
                        listed.append((ip, headingType))
                    }
                }
            } else if !trimmed.isEmpty {
                heading = trimmed
                headingIsRead = false
            }
        }
        guard Set(listed.map(\.0)).subtracting(labelled).count >= 2 else { return false }
        for (ip, type) in listed { draft.addEntry(.address(ip), type: type) }
        return true
    }
}
