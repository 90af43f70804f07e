// The path of one message through mailwardend, in event order:
//
//   connect        remember the client and the {daemon_name} that marks local submissions
//   MAIL FROM      reset the message; decide its scope (authenticated, local, trusted network, or
//                  inbound from a stranger, which is accepted at once and never counted); if an
//                  envelope rule already names a locked identity, refuse here and save the transfer
//   RCPT TO        count recipients; note those that are abuse mailboxes
//   DATA           inbound mail with no abuse-mailbox recipient is accepted here, uncounted
//   headers, body  keep the (capped) values of the headers that rules read; for a report to an
//                  abuse mailbox keep the whole message (up to abuse_max_size)
//   end of message a report is stored by the abuse desk before we answer (store failure: on_error),
//                  its abuse-mailbox recipients removed, and the message discarded if none is left;
//                  then: name the identity (first matching rule), read the upstream spam verdict, then
//                  IdentityAccounting counts it and locks on a crossed limit; the verdict follows:
//                  accept, or the lock action (reject / hold / tempfail; always hold for local
//                  submissions). Store failures answer per `on_error`. One log line per message.
//
// Nothing here knows libmilter: MilterBridge calls these methods and applies the answers.
import Logging
import MailWardenCore

/// Why a message is (or is not) counted as outbound mail.
public enum MessageScope: String, Sendable {
    case authenticated, local, trusted
    /// From a stranger: never counted or locked, or anyone could get a customer locked.
    case inbound
}

public final class MessageSession: MilterSession {
    let filter: MailFilter
    let config: Config
    let accounting: IdentityAccounting
    private let examinedHeaders: Set<String>
    private let wantedMacros: [String]

    private var clientAddress: String?
    private var daemonName: String?
    private var message = MessageState()

    /// What one message has told us so far; reset at MAIL FROM and on abort.
    struct MessageState: MessageFacts {
        var sender: String?
        var macros: [String: String] = [:]
        var clientAddress: String?
        var scope = MessageScope.inbound
        var recipients = 0
        var headersSeen = 0
        var headers: [String: [String]] = [:]
        var earlyMatch: IdentityRules.Match?
        var refusedEarly = false
        var abuseRecipients: [String] = []
        /// The whole message, kept only for mail to an abuse mailbox.
        var report: [UInt8] = []
        var reportTooLarge = false
        var headersEnded = false

        func macro(_ name: String) -> String? { macros[name] }
        var envelopeFrom: String? { sender }
        func headerValues(named name: String) -> [String] { headers[name.lowercased()] ?? [] }
    }

    init(filter: MailFilter, config: Config) {
        self.filter = filter
        self.config = config
        accounting = IdentityAccounting(config: config, store: filter.store, clock: filter.clock)
        examinedHeaders = config.examinedHeaders
        var macros = ["{auth_authen}", "{daemon_name}", "i"]
        for rule in config.identityRules.rules {
            if case .macro(let name) = rule.source, !macros.contains(name) { macros.append(name) }
        }
        wantedMacros = macros
    }

    // MARK: connect

    public func connect(hostname: String, address: String?, macros: MacroSource) -> Verdict {
        clientAddress = address
        daemonName = macros.value("{daemon_name}")
        return .proceed
    }

    // MARK: envelope

    public func mailFrom(_ sender: String, macros: MacroSource) -> Verdict {
        message = MessageState()
        message.sender = sender
        message.clientAddress = clientAddress
        for name in wantedMacros {
            if let v = macros.value(name), !v.isEmpty { message.macros[name] = String(v.prefix(config.maxHeaderLength)) }
        }
        if daemonName == nil { daemonName = message.macros["{daemon_name}"] }
        message.scope = scope()
        // Inbound mail may still be a report to an abuse mailbox: that is known at DATA.
        guard message.scope != .inbound || !config.abuseMailboxes.isEmpty else {
            log(queueID: message.macros["i"], "scope=inbound action=accept (not counted)")
            return .accept
        }
        guard message.scope != .inbound else { return .proceed }
        guard let match = config.identityRules.resolveBeforeHeaders(message) else { return .proceed }
        message.earlyMatch = match
        // Refusing at MAIL FROM saves the transfer; hold needs end-of-message, and local mail is always held.
        guard config.mode == .enforce, message.scope != .local, config.lockAction != .hold else { return .proceed }
        do {
            guard let lock = try accounting.activeLock(of: match.identity) else { return .proceed }
            try filter.store.recordLockedAttempt(identity: match.identity, at: filter.clock.now(), heldQueueID: nil)
            message.refusedEarly = true
            let verdict = lockVerdict(identity: match.identity)
            log(queueID: message.macros["i"], "identity=\(match.identity) rule=\(match.ruleIndex) stage=mail action=\(Self.name(verdict)) reason=\"locked: \(lock.reason)\"")
            return verdict
        } catch {
            return failure(error, queueID: message.macros["i"])
        }
    }

    public func recipient(_ recipient: String, macros: MacroSource) -> Verdict {
        message.recipients += 1
        if config.abuseMailboxes.contains(recipient) { message.abuseRecipients.append(recipient) }
        return .proceed
    }

    public func data(macros: MacroSource) -> Verdict {
        guard message.scope == .inbound, message.abuseRecipients.isEmpty else { return .proceed }
        log(queueID: macros.value("i") ?? message.macros["i"], "scope=inbound action=accept (not counted)")
        return .accept
    }

    /// Authenticated beats local beats trusted network; anything else is a stranger's inbound mail.
    private func scope() -> MessageScope {
        if message.macros["{auth_authen}"] != nil { return .authenticated }
        if let d = daemonName, !config.localDaemonName.isEmpty, d == config.localDaemonName { return .local }
        if config.isTrusted(clientAddress: clientAddress) { return .trusted }
        return .inbound
    }

    // MARK: headers

    public func header(name: String, value: String) -> Verdict {
        if !message.abuseRecipients.isEmpty {
            // libmilter hands the value without the space after the colon; put the line back together.
            keepReportBytes(Array("\(name):\(value.first == " " || value.first == "\t" ? "" : " ")\(value)\r\n".utf8))
        }
        message.headersSeen += 1
        let key = name.lowercased()
        guard message.headersSeen <= config.maxHeaders, examinedHeaders.contains(key) else { return .proceed }
        message.headers[key, default: []].append(String(value.prefix(config.maxHeaderLength)))
        return .proceed
    }

    public func body(_ chunk: UnsafeRawBufferPointer) -> Verdict {
        guard !message.abuseRecipients.isEmpty else { return .proceed }
        endReportHeaders()
        keepReportBytes(Array(chunk))
        return .proceed
    }

    /// The blank line between the kept headers and the body (there is no end-of-headers event: NOEOH).
    private func endReportHeaders() {
        guard !message.headersEnded else { return }
        message.headersEnded = true
        keepReportBytes([13, 10])
    }

    private func keepReportBytes(_ bytes: [UInt8]) {
        guard !message.reportTooLarge else { return }
        guard message.report.count + bytes.count <= config.abuseMaxSize else {
            message.reportTooLarge = true
            message.report = []
            return
        }
        message.report += bytes
    }

    // MARK: end of message: verdict and action

    public func endOfMessage(macros: MacroSource) -> (Verdict, [Modification]) {
        let queueID = macros.value("i") ?? message.macros["i"]
        defer { message = MessageState() }
        var reportChanges: [Modification] = []
        if !message.abuseRecipients.isEmpty {
            switch storeReport(queueID: queueID) {
            case .failed(let verdict): return (verdict, [])
            case .storedAndDiscard: return (.discard, [])
            case .stored(let changes): reportChanges = changes
            }
        }
        guard message.scope != .inbound, !message.refusedEarly else { return (.accept, reportChanges) }
        let (verdict, changes) = countMessage(queueID: queueID)
        return (verdict, reportChanges + changes)
    }

    private enum ReportOutcome {
        case stored([Modification])
        case storedAndDiscard
        case failed(Verdict)
    }

    /// Hands a report to the abuse desk; only once it is stored are its abuse recipients removed.
    private func storeReport(queueID: String?) -> ReportOutcome {
        let recipients = message.abuseRecipients
        guard let intake = filter.intake else { return .stored([]) }
        if message.reportTooLarge {
            log(queueID: queueID, "report to \(recipients.joined(separator: ",")) is over abuse_max_size (\(config.abuseMaxSize) bytes): delivered, not stored", level: .warning)
            return .stored([])
        }
        endReportHeaders()
        do {
            let summary = try intake.ingest(message.report, sender: message.sender, recipients: recipients, queueID: queueID)
            guard !config.abuseKeepDelivery else {
                log(queueID: queueID, "abuse report \(summary) action=deliver (abuse_keep_delivery)")
                return .stored([])
            }
            if message.recipients == recipients.count {
                log(queueID: queueID, "abuse report \(summary) action=discard (stored; no other recipient)")
                return .storedAndDiscard
            }
            log(queueID: queueID, "abuse report \(summary) action=delrcpt \(recipients.joined(separator: ","))")
            return .stored(recipients.map { .deleteRecipient($0) })
        } catch {
            return .failed(failure(error, queueID: queueID))
        }
    }

    /// Names, counts and judges one outbound message.
    private func countMessage(queueID: String?) -> (Verdict, [Modification]) {
        guard let match = message.earlyMatch ?? config.identityRules.resolve(message) else {
            log(queueID: queueID, "identity=- scope=\(message.scope.rawValue) action=accept (no identity rule matched)")
            return (.accept, [])
        }
        let spam = isSpam()
        let lockAction = message.scope == .local ? LockAction.hold : config.lockAction
        let event = MessageEvent(identity: match.identity, at: filter.clock.now(), recipients: message.recipients, spam: spam,
                                 messageID: message.headers["message-id"]?.first?.trimmingWhitespace(), queueID: queueID)
        let summary = "identity=\(match.identity) rule=\(match.ruleIndex) scope=\(message.scope.rawValue) recipients=\(message.recipients) spam=\(spam ? "yes" : "no")"
        do {
            let outcome = try accounting.account(event, heldQueueID: lockAction == .hold ? queueID : nil)
            let modifications = try identityHeaderChanges(match)
            switch outcome {
            case .pass(let totals), .exempt(let totals):
                let exempt = if case .exempt = outcome { " exempt" } else { "" }
                log(queueID: queueID, "\(summary) \(Self.describe(totals))\(exempt) action=accept")
                return (.accept, modifications)
            case .wouldLock(let reason, let totals):
                log(queueID: queueID, "\(summary) \(Self.describe(totals)) action=accept would lock: \(reason) (mode=monitor)", level: .warning)
                return (.accept, modifications)
            case .locked(let lock, let crossing):
                let verdict = lockAction == .hold ? Verdict.hold(reason: "MailWarden: \(match.identity) is locked")
                                                  : lockVerdict(identity: match.identity, action: lockAction)
                if let crossing {
                    log(queueID: queueID, "\(summary) action=\(Self.name(verdict)) locked: \(crossing)", level: .warning)
                    filter.notifier?.identityLocked(lock, queueID: queueID)
                } else {
                    log(queueID: queueID, "\(summary) action=\(Self.name(verdict)) reason=\"locked: \(lock.reason)\"")
                }
                return (verdict, lockAction == .hold ? modifications : [])
            }
        } catch {
            return (failure(error, queueID: queueID), [])
        }
    }

    private func isSpam() -> Bool {
        config.spamHeaders.contains { rule in
            message.headerValues(named: rule.name).contains { rule.pattern.matches($0) }
        }
    }

    /// With identity_header = remove/token, the header that named the sender leaves the message.
    private func identityHeaderChanges(_ match: IdentityRules.Match) throws -> [Modification] {
        guard config.identityHeader != .keep,
              let rule = config.identityRules.rules[safe: match.ruleIndex - 1], let name = rule.headerName else { return [] }
        // Indexes count down so each deletion leaves the earlier indexes valid.
        var changes = message.headerValues(named: name).indices.reversed().map {
            Modification.changeHeader(name: name, index: $0 + 1, value: nil)
        }
        if config.identityHeader == .token, let tokenizer = filter.tokenizer {
            changes.append(.addHeader(name: "X-MailWarden-ID", value: try tokenizer.token(for: match.identity)))
        }
        return changes
    }

    private func lockVerdict(identity: Identity, action: LockAction? = nil) -> Verdict {
        switch action ?? config.lockAction {
        case .tempfail: return .tempfail(SMTPReply(code: "451", status: "4.7.1", text: config.lockReply))
        case .hold: return .hold(reason: "MailWarden: \(identity) is locked")
        case .reject: return .reject(SMTPReply(code: "550", status: "5.7.1", text: config.lockReply))
        }
    }

    /// on_error: tempfail keeps the mail with the client; accept lets it through uncounted.
    private func failure(_ error: Error, queueID: String?) -> Verdict {
        let verdict: Verdict = config.onError == .accept ? .accept
            : .tempfail(SMTPReply(code: "451", status: "4.3.0", text: "Temporary MailWarden failure, please try again later"))
        log(queueID: queueID, "error: \(error); action=\(Self.name(verdict)) (on_error=\(config.onError.rawValue))", level: .error)
        return verdict
    }

    // MARK: abort / close

    public func abort() {
        message = MessageState()
    }

    public func close() {}

    // MARK: logging

    private func log(queueID: String?, _ text: String, level: Logger.Level = .info) {
        filter.logger.log(level: level, "\(queueID ?? "NOQUEUE"): \(text)")
    }

    static func describe(_ totals: [Counter: Int]) -> String {
        "window=" + Counter.allCases.compactMap { c in totals[c].map { "\(c.rawValue):\($0)" } }.joined(separator: ",")
    }

    static func name(_ verdict: Verdict) -> String {
        switch verdict {
        case .proceed, .accept: return "accept"
        case .reject: return "reject"
        case .tempfail: return "tempfail"
        case .discard: return "discard"
        case .hold: return "hold"
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
