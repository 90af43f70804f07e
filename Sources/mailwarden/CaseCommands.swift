// cases, case show|resolve|evidence, triage [list|categorize|dismiss]: the abuse desk's cases and the
// reports waiting for a person. Every change goes to the audit log under --by; evidence is written
// only inside the directory named, never over an existing file, readable by its owner only.
import ArgumentParser
import Foundation
import MailWardenCore
import MailWardenDesk
import MailWardenStore

struct Cases: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List abuse cases, newest activity first.")

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Only open or only resolved cases.", valueName: "status"),
            transform: { try parseChoice($0, among: CaseStatus.allCases) })
    var status: CaseStatus?
    @Option(help: ArgumentHelp("Only cases of this type: \(AbuseType.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "type"),
            transform: { try parseChoice($0, among: AbuseType.allCases) })
    var type: AbuseType?
    @Option(help: ArgumentHelp("""
        Only cases about this IP, network, domain or identity, or whose reports name it (an IP, network, domain, URL or \
        address); an IP also lists the cases of networks that hold it.
        """,
                               valueName: "subject"))
    var subject: String?
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let cases = Listing(columns: Self.columns, rows: try store.cases(status: status, type: type, subject: subject?.trimmingWhitespace()))
        if json { return Output.print(cases.json) }
        guard !cases.rows.isEmpty else {
            return print(status == nil && type == nil && subject == nil ? "no cases yet" : "no cases match")
        }
        print(cases.table)
    }

    static let columns: [Column<CaseSummary>] = [
        Column("id") { .number($0.id) },
        Column("subject") { .string($0.subject.value) },
        Column("subject_kind") { .string($0.subject.kind.rawValue) },
        Column("type") { .string($0.subject.type.rawValue) },
        Column("status") { .string($0.status.rawValue) },
        Column("opened_at") { .time($0.openedAt) },
        Column("last_report_at") { .time($0.lastReportAt) },
        Column("report_count") { .int($0.reportCount) },
        Column("identity") { .text($0.identity) },
        Column("traced_by") { .text($0.tracedBy?.rawValue) },
    ]
}

// MARK: - case

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "Show one abuse case, resolve it, or extract its evidence.",
        subcommands: [CaseShow.self, CaseResolve.self, CaseEvidence.self])
}

/// The case a command is about.
struct CaseArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The case number, as 'mailwarden cases' lists it.", valueName: "case")) var id: Int64
}

struct CaseShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a case: its subject, its reports with their indicators and evidence, its resolution.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var target: CaseArgument
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let detail = try store.caseDetail(id: target.id)
        if json { return Output.print(Self.json(detail)) }

        let s = detail.summary
        var facts = [
            ["case", "\(s.id)"], ["subject", "\(s.subject.value) (\(s.subject.kind.rawValue))"], ["type", s.subject.type.rawValue],
            ["status", s.status.rawValue], ["opened", Output.time(s.openedAt)], ["last report", Output.time(s.lastReportAt)],
            ["reports", "\(s.reportCount)"],
            ["customer", s.identity.map { "\($0), traced by \(s.tracedBy?.rawValue ?? "-")" } ?? "not traced"],
        ]
        if let r = detail.resolution {
            facts.append(["resolved", "\(Output.time(r.resolvedAt)) by \(r.resolvedBy)" + (r.note.map { ": \($0)" } ?? "")])
        }
        print(TextTable(rows: facts.map { $0.map(TableCell.init) }).rendered)
        print("\nreports:")
        print(Listing(columns: Self.reportColumns, rows: detail.reports).table)
        let evidence = detail.reports.flatMap(\.evidence)
        guard !evidence.isEmpty else { return print("\nno evidence attachments") }
        print("\nevidence (write it out with 'mailwarden case evidence \(s.id) --extract DIR'):")
        print(Listing(columns: Self.evidenceColumns, rows: evidence).table)
    }

    static let reportColumns: [Column<CaseReport>] = [
        Column("id") { .number($0.id) },
        Column("received_at") { .time($0.receivedAt) },
        Column("format") { .string($0.format) },
        Column("type") { .text($0.type?.rawValue) },
        Column("reporter") { .text($0.reporter) },
        Column("reporter_auth") { .text($0.reporterAuthentication) },
        Column("status") { .string($0.status.rawValue) },
        Column("identity") { .text($0.identity) },
        Column("traced_by") { .text($0.tracedBy?.rawValue) },
        Column("message_id") { .text($0.messageID) },
        Column("indicators") { indicatorsJSON($0.indicators) },
    ]

    static let evidenceColumns: [Column<EvidenceRecord>] = [
        Column("id") { .number($0.id) },
        Column("report_id") { .number($0.reportID) },
        Column("filename") { .string($0.filename) },
        Column("content_type") { .string($0.contentType) },
        Column("size") { .number($0.size) },
        Column("sha256") { .string($0.sha256) },
    ]

    static func json(_ detail: CaseDetail) -> JSONValue {
        let reports = detail.reports.map { report in
            JSONValue.object(reportColumns.fields(of: report) + [("evidence", Listing(columns: evidenceColumns, rows: report.evidence).json)])
        }
        let resolution: JSONValue = detail.resolution.map { r in
            .object([("resolved_at", .time(r.resolvedAt)), ("resolved_by", .string(r.resolvedBy)), ("note", .text(r.note))])
        } ?? .null
        return .object(Cases.columns.fields(of: detail.summary) + [("reports", .array(reports)), ("resolution", resolution)])
    }
}

struct CaseResolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve an open case: it takes no more reports, and the next report on its subject opens a new case.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: CaseArgument
    @Option(help: "What was done (kept with the case and in the audit log).") var note: String?

    func run() throws {
        let (_, store) = try options.openStore()
        let resolved = try store.resolveCase(id: target.id, by: actor.name, note: note, at: SystemClock().now())
        let s = resolved.subject
        print("resolved case \(resolved.id): \(s.value) (\(s.kind.rawValue)), \(s.type.rawValue), \(resolved.reportCount) reports")
    }
}

struct CaseEvidence: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Write the evidence attachments of a case's reports into a directory, as files readable by you only.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var target: CaseArgument
    @Option(help: ArgumentHelp("The directory to write them into (created if missing); existing files are never overwritten.",
                               valueName: "dir"))
    var extract: String

    func run() throws {
        let (_, store) = try options.openStore()
        let files = try store.evidence(ofCase: target.id)
        guard !files.isEmpty else { return print("case \(target.id) has no evidence attachments") }
        let directory = try EvidenceDirectory(path: extract)
        let written = try files.map { file in ExtractedEvidence(name: try directory.write(file), file: file) }
        print("wrote \(written.count) file\(written.count == 1 ? "" : "s") into \(extract):")
        print(Listing(columns: Self.columns, rows: written).table)
    }

    static let columns: [Column<ExtractedEvidence>] = [
        Column("file") { .string($0.name) },
        Column("size") { .int($0.file.bytes.count) },
        Column("sha256") { .string($0.file.sha256) },
        Column("original_name") { .string($0.file.filename) },
    ]
}

/// An evidence file and the name it was written under.
struct ExtractedEvidence {
    let name: String
    let file: EvidenceFile
}

/// Where `case evidence --extract` writes. An attachment's name comes from a stranger's mail, so it
/// is cut down to a plain file name (see `safeName`) and created with O_EXCL|O_NOFOLLOW: never over
/// an existing file or through a symlink; a taken name gets a numeric suffix instead.
struct EvidenceDirectory {
    /// Well under NAME_MAX (255 bytes), leaving room for a numeric suffix.
    static let maxNameBytes = 200
    /// How many `-N` suffixes are tried before giving up on a name.
    static let maxSuffix = 1000

    let path: String

    /// Creates the directory (mode 0700) if it is missing.
    init(path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIFailure("cannot create directory \(path) (\(error.localizedDescription)): name a directory you can write to")
        }
        self.path = path
    }

    /// Writes the file with mode 0600 under its safe name, or the first free `stem-N.ext`; returns
    /// the name used.
    func write(_ file: EvidenceFile) throws -> String {
        let name = Self.safeName(file.filename)
        for suffix in 1...Self.maxSuffix {
            let candidate = Self.numbered(name, suffix)
            let target = (path as NSString).appendingPathComponent(candidate)
            let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 && errno == EEXIST { continue }
            guard fd >= 0 else { throw CLIFailure("cannot create \(target): \(String(cString: strerror(errno))) (check the directory's permissions)") }
            defer { close(fd) }
            try Self.writeAll(file.bytes, to: fd, path: target)
            return candidate
        }
        throw CLIFailure("\(path) already holds \(name) and \(Self.maxSuffix - 1) numbered copies of it: extract into an empty directory")
    }

    /// The last path component of `original` (after `/` or `\`), without control characters and
    /// leading dots (so never `.`, `..` or a hidden file), at most `maxNameBytes`; `evidence` when
    /// nothing is left.
    static func safeName(_ original: String) -> String {
        let lastComponent = original.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? ""
        let printable = String(String.UnicodeScalarView(lastComponent.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }))
        var (stem, ext) = split(String(printable.drop { $0 == "." }))
        if ext.utf8.count >= maxNameBytes { (stem, ext) = (stem + ext, "") }
        while stem.utf8.count + ext.utf8.count > maxNameBytes { stem.removeLast() }
        return stem.isEmpty && ext.isEmpty ? "evidence" : stem + ext
    }

    /// `name` for 1, else `stem-N.ext`.
    static func numbered(_ name: String, _ suffix: Int) -> String {
        guard suffix > 1 else { return name }
        let (stem, ext) = split(name)
        return "\(stem)-\(suffix)\(ext)"
    }

    /// `report.eml` → (`report`, `.eml`); a name without a dot after its first character has no extension.
    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw CLIFailure("cannot write \(path): \(String(cString: strerror(errno))) (is the disk full?)") }
                offset += n
            }
        }
    }
}

// MARK: - triage

struct TriageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "The reports MailWarden could not file: list them (the default), read one as it arrived, categorize them onto a case, dismiss them, or requeue them for the desk.",
        subcommands: [TriageQueue.self, TriageRaw.self, TriageCategorize.self, TriageDismiss.self, TriageRequeue.self],
        defaultSubcommand: TriageQueue.self)
}

/// The triage report a decision is about.
struct ReportArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The report number, as 'mailwarden triage' lists it.", valueName: "report")) var id: Int64
}

struct TriageQueue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the reports waiting for a person, oldest first.")

    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let queue = Listing(columns: Self.columns, rows: try store.triageQueue())
        if json { return Output.print(queue.json) }
        guard !queue.rows.isEmpty else { return print("no reports waiting in triage") }
        print(queue.table)
    }

    static let columns: [Column<TriageReport>] = [
        Column("id") { .number($0.id) },
        Column("received_at") { .time($0.receivedAt) },
        Column("reporter") { .text($0.reporter) },
        Column("reporter_auth") { .text($0.reporterAuthentication) },
        Column("format") { .string($0.format) },
        Column("reason") { .text($0.reason) },
        Column("subject") { .text($0.subjectLine) },
        Column("indicators") { indicatorsJSON($0.indicators) },
        // The list above holds the first 20.
        Column("indicator_count") { .number(Int64($0.indicatorCount)) },
    ]
}

struct TriageRaw: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raw",
        abstract: "Write a report's message, exactly as it arrived, to standard output (a report the parser gave up on included).",
        discussion: "It is a stranger's message: read it with a pager or save it, do not open its attachments blindly.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var target: ReportArgument

    func run() throws {
        let (_, store) = try options.openStore()
        try EvidenceDirectory.writeAll(try store.reportRaw(id: target.id), to: 1, path: "standard output")
    }
}

struct TriageCategorize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "categorize",
        abstract: "File a triage report on the open case of a subject and type, opening one if there is none.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: ReportArgument
    @Option(help: ArgumentHelp("The type of abuse: \(AbuseType.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "type"),
            transform: { try parseChoice($0, among: AbuseType.allCases) })
    var type: AbuseType
    @Option(help: ArgumentHelp("What the case is about: an IP address, a network such as 192.0.2.0/24, a domain, or an identity such as sasl:alice@example.net.",
                               valueName: "subject"))
    var subject: String
    @Option(help: ArgumentHelp("""
        ip, network, domain or identity (default: ip if the subject is an address, network if it is one in CIDR form, \
        identity if it has a ':', else domain).
        """, valueName: "kind"),
            transform: { try parseChoice($0, among: [SubjectKind.ip, .network, .domain, .identity]) })
    var kind: SubjectKind?

    func validate() throws {
        _ = try caseSubject()
    }

    func run() throws {
        let (config, store) = try options.openStore()
        let subject = try caseSubject()
        if subject.kind == .identity { try IdentityArgument.requireNameable(subject.value, by: config, in: store) }
        let desk = AbuseDesk(config: config, cases: store, policy: store, clock: SystemClock())
        // A person decided our customer caused it: a complaint, counted as the desk counts traced
        // ones (dated by the report's arrival, by the reporter's organisation), in the same
        // transaction as the filing, so a failed count leaves the report in triage to try again.
        let (filed, counted) = try store.atomically { () throws -> (FiledCase, CountedComplaint?) in
            let filed = try store.categorize(report: target.id, as: subject, by: actor.name, at: SystemClock().now())
            guard filed.subject.kind == .identity, let origin = try store.origin(ofReport: target.id) else { return (filed, nil) }
            return (filed, try desk.accounting.accountComplaint(identity: filed.subject.value,
                                                                reporter: desk.reporterOrganization(ofAddress: origin.reporter ?? "unknown"),
                                                                reportID: target.id, receivedAt: origin.receivedAt))
        }
        let s = filed.subject
        print("report \(target.id) filed on \(filed.opened ? "new" : "open") case \(filed.id): \(s.value) (\(s.kind.rawValue)), \(s.type.rawValue)")
        if let counted, case .locked(_, let crossing?) = counted.outcome {
            print("\(s.value) is now locked: \(crossing)")
            let notifier = DeskCommand.notifier(config)
            counted.notify(notifier)
            notifier.finish()
        }
    }

    /// The subject as cases hold it: an IP in its canonical form, a network with its host bits
    /// cleared, a domain in lower case without a trailing dot, an identity in NFC (as the rules name it).
    func caseSubject() throws -> CaseSubject {
        let text = subject.trimmingWhitespace()
        let ip = IPAddressOrNetwork(text)
        switch kind ?? ip?.subjectKind ?? (text.contains(":") ? .identity : .domain) {
        case .ip:
            guard case .address(let address)? = ip else { throw ValidationError("\(text) is not an IP address: give one, or --kind network, domain or identity") }
            return CaseSubject(kind: .ip, value: address.description, type: type)
        case .network:
            guard case .network(let network)? = ip else { throw ValidationError("\(text) is not a network in CIDR form such as 192.0.2.0/24") }
            return CaseSubject(kind: .network, value: network.description, type: type)
        case .domain:
            let domain = text.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
            guard !domain.isEmpty, !domain.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) else {
                throw ValidationError("\(text) is not a domain name such as example.com")
            }
            return CaseSubject(kind: .domain, value: domain, type: type)
        case .identity:
            guard IdentityForm.holds(for: text) else { throw ValidationError(IdentityForm.hint) }
            return CaseSubject(kind: .identity, value: IdentityRule.composed(text), type: type)
        }
    }
}

struct TriageDismiss: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dismiss",
        abstract: "Take a report out of triage without a case; it is kept until report_retention.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: ReportArgument
    @Option(help: "Why it needs no case (kept with the report and in the audit log).") var note: String?

    func run() throws {
        let (_, store) = try options.openStore()
        try store.dismiss(report: target.id, by: actor.name, note: note, at: SystemClock().now())
        print("report \(target.id) dismissed")
    }
}

struct TriageRequeue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Put a report back in the desk's queue, to be parsed and filed afresh (a report the parser gave up on, once the parser works again).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: ReportArgument

    func run() throws {
        let (_, store) = try options.openStore()
        try store.requeue(report: target.id, by: actor.name, at: SystemClock().now())
        print("report \(target.id) queued for the desk again")
    }
}

// MARK: - Shared pieces

/// One of a fixed set of words, e.g. `--type spam`.
func parseChoice<Choice: RawRepresentable>(_ text: String, among choices: [Choice]) throws -> Choice where Choice.RawValue == String {
    guard let choice = choices.first(where: { $0.rawValue == text }) else {
        throw ValidationError("use one of \(choices.map(\.rawValue).joined(separator: ", "))")
    }
    return choice
}

/// `{"ip": [...], "url": [...]}`, kinds in alphabetical order.
func indicatorsJSON(_ indicators: IndicatorsByKind) -> JSONValue {
    .object(indicators.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map(JSONValue.string))) })
}
