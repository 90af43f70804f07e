// The path of one message through mailwardend, in event order:
//
//   connect        remember the client and the {daemon_name} that marks local submissions
//   MAIL FROM      reset the message; decide its scope (authenticated, local, trusted network, or
//                  inbound from a stranger, which is accepted at once and never counted); if an
//                  envelope rule already names a locked identity, refuse here and save the transfer
//   RCPT TO        count recipients; note those that are our abuse mailboxes (delivered here: a
//                  customer's mail to another provider's abuse@ goes on its way)
//   DATA           inbound mail with no abuse-mailbox recipient is accepted here, uncounted (unless
//                  forged Authentication-Results fields are to be removed from it, or it is scanned);
//                  where that cannot happen the session has no use for DATA
//   headers, body  keep the (capped) values of the headers that rules read; keep the whole message
//                  for a report to an abuse mailbox (abuse_max_size) or for the spam scanners
//                  (scanner_max_size), all sessions' together within milter_memory; note
//                  Authentication-Results fields in our authserv-id's name
//                  (remove_forged_authentication_results): neither kept nor, once accepted, left in
//   end of message a report is queued raw, unread, before we answer (store failure: on_error), its
//                  abuse-mailbox recipients removed, and the message discarded if none is left (the
//                  desk worker parses it later, in a process of its own);
//                  then: name the identity (first matching rule) and read the upstream spam verdict;
//                  check its lock (in the PolicyCache: memory), and unless it is locked ask the
//                  scanners (scanner_failure on failure) and count it (one store transaction), which
//                  locks it on a crossed limit (if the store fails and on_error = accept, the count
//                  waits in the CountBacklog for the store to answer again); the verdict follows:
//                  accept, or the lock action (reject / hold / tempfail; always hold for local
//                  submissions). Store failures answer per `on_error`, and so does a change the
//                  message needs that the MTA did not grant at negotiation, before the count. One
//                  log line per message.
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

/// The macros the session reads, spelt once: the plan asks the MTA for these, the events read them.
private enum MacroName {
    static let daemon = "{daemon_name}"
    static let saslLogin = "{auth_authen}"
    static let recipientMailer = "{rcpt_mailer}"
    static let queueID = "i"
}

/// A config snapshot with what every session of it needs, worked out once per snapshot (a reload
/// makes a new one), not once per connection: a session holds it by reference.
final class SessionPlan: Sendable {
    let config: Config
    /// The scanner clients built from the config.
    let scanners: [any SpamScanner]
    let accounting: IdentityAccounting
    /// The lowercased names of the headers whose values are kept.
    let examinedHeaders: Set<String>
    /// Whether the scanners see strangers' mail too (scanner_scope = all), not only our customers'.
    let scansInbound: Bool
    let events: EventPlan
    /// The macros read at MAIL FROM.
    let mailFromMacros: [String]

    init(config: Config, scanners: [any SpamScanner], clock: WallClock, store: PolicyStore, cache: PolicyCache, writeBehind: WriteBehindCounts) {
        self.config = config
        self.scanners = scanners
        accounting = IdentityAccounting(config: config, store: store, clock: clock, cache: cache, writeBehind: writeBehind)
        // To and Cc tell a report (abuse@ addressed) from a mailing that copies it (scansMessage).
        examinedHeaders = config.examinedHeaders.union(scanners.isEmpty || config.abuseMailboxes.isEmpty ? [] : ["to", "cc"])
        scansInbound = !scanners.isEmpty && config.scanning.scope == .all
        // The macros read at MAIL FROM: the SASL login, the queue id, and those the identity rules name.
        var macros = [MacroName.saslLogin, MacroName.queueID]
        for rule in config.identityRules.rules {
            if case .macro(let name) = rule.source, !macros.contains(name) { macros.append(name) }
        }
        // The body is read only for a report to an abuse mailbox or for the scanners. Connect,
        // recipients and headers are only noted, never answered otherwise than "go on".
        var unused: MilterEvents = [.helo, .endOfHeaders, .unknownCommand]
        if config.abuseMailboxes.isEmpty && scanners.isEmpty { unused.insert(.body) }
        // DATA is answered only to accept a stranger's mail whose recipients hold no abuse mailbox.
        // Without abuse mailboxes that mail was accepted at MAIL FROM; with forged fields to remove
        // or strangers' mail scanned, nothing is accepted before the end of the message.
        if config.abuseMailboxes.isEmpty || config.removeForgedAuthenticationResults || scansInbound { unused.insert(.data) }
        mailFromMacros = macros
        events = EventPlan(unused: unused, unanswered: [.connect, .recipient, .header],
                           macros: [.connect: [MacroName.daemon], .mailFrom: macros, .recipient: [MacroName.recipientMailer],
                                    .data: [MacroName.queueID], .endOfMessage: [MacroName.queueID]])
    }
}

public final class MessageSession: MilterSession {
    let filter: MailFilter
    private let plan: SessionPlan
    var config: Config { plan.config }
    private var scanners: [any SpamScanner] { plan.scanners }
    public var eventPlan: EventPlan { plan.events }

    private var clientAddress: String?
    private var clientHostname: String?
    private var daemonName: String?
    private var message = MessageState()
    /// The changes the MTA lets us make: what is not granted is decided before anything is counted.
    private var grantedActions = MilterActions.all
    /// Missing actions already logged on this connection.
    private var toldNotGranted = MilterActions()

    public func negotiated(actions: MilterActions) { grantedActions = actions }

    /// What one message has told us so far; reset at MAIL FROM and on abort.
    struct MessageState: MessageFacts {
        var sender: String?
        var macros: [String: String] = [:]
        var clientAddress: String?
        var scope = MessageScope.inbound
        var recipients = 0
        /// Distinct, the first MessageEvent.maxRecipientDomains: who may complain of the message.
        var recipientDomains: [String] = []
        var headersSeen = 0
        /// Authentication-Results fields so far, and the 1-based indexes of those forged in our name.
        var authenticationResultsSeen = 0
        var forgedAuthenticationResults: [Int] = []
        var headers: [String: [String]] = [:]
        var earlyMatch: IdentityRules.Match?
        var refusedEarly = false
        var abuseRecipients: [String] = []
        /// Recipient addresses for the scanners (the first few hundred: enough for a verdict).
        var recipientAddresses: [String] = []
        /// Whether the scanners are to see this message, as far as its scope goes (`scansMessage`).
        var scanning = false
        /// The whole message, kept only for a report or a scan.
        var bytes: [UInt8] = []
        var bytesTooLarge = false
        /// Not kept because milter_memory was in use by other messages (`bytesTooLarge` is set too).
        var memoryExhausted = false
        var headersEnded = false

        var keepsBytes: Bool { scanning || !abuseRecipients.isEmpty }

        /// A report to an abuse mailbox is not scanned: a customer's spam sample forwarded with a
        /// colleague in Cc must not count as the customer's spam. A customer's message that does not
        /// name the abuse mailbox in To or Cc (a hijacked account's spam run Bcc'ing abuse@), or any
        /// with more than a few other recipients, is no report but a mailing: scanned as any other.
        /// The report is still stored as it came.
        var scansMessage: Bool {
            scanning && (abuseRecipients.isEmpty || recipients - abuseRecipients.count > Self.reportCopies
                         || scope != .inbound && !namesAnAbuseRecipient)
        }
        static let reportCopies = 2

        /// Whether To or Cc (as kept, capped) names one of the abuse-mailbox recipients.
        private var namesAnAbuseRecipient: Bool {
            let addressed = ((headers["to"] ?? []) + (headers["cc"] ?? [])).joined(separator: ",").lowercased()
            return abuseRecipients.contains { recipient in
                let address = recipient.lowercased().filter { $0 != "<" && $0 != ">" && $0 != " " }
                return !address.isEmpty && addressed.contains(address)
            }
        }

        func macro(_ name: String) -> String? { macros[name] }
        var envelopeFrom: String? { sender }
        func headerValues(named name: String) -> [String] { headers[name.lowercased()] ?? [] }
    }

    init(filter: MailFilter, plan: SessionPlan) {
        self.filter = filter
        self.plan = plan
    }

    // MARK: connect

    public func connect(hostname: String, address: String?, macros: MacroSource) -> Verdict {
        clientAddress = address
        // Postfix says `unknown`, Sendmail `[192.0.2.1]`, for a client whose address has no name.
        clientHostname = hostname.isEmpty || hostname == "unknown" || hostname.hasPrefix("[") ? nil : String(hostname.prefix(255))
        daemonName = macros.value(MacroName.daemon)
        return .proceed
    }

    // MARK: envelope

    public func mailFrom(_ sender: String, macros: MacroSource) -> Verdict {
        startOver()
        message.sender = sender
        message.clientAddress = clientAddress
        for name in plan.mailFromMacros {
            if let v = macros.value(name), !v.isEmpty { message.macros[name] = String(v.prefix(config.maxHeaderLength)) }
        }
        message.scope = scope()
        message.scanning = !scanners.isEmpty && (message.scope != .inbound || plan.scansInbound)
        // Inbound mail may still be a report to an abuse mailbox (known from its recipients), be
        // scanned, or carry forged Authentication-Results fields to remove.
        guard message.scope != .inbound || !config.abuseMailboxes.isEmpty || message.scanning
                || config.removeForgedAuthenticationResults else {
            log(queueID: message.macros[MacroName.queueID], "scope=inbound action=accept (not counted)")
            return .accept
        }
        guard message.scope != .inbound else { return .proceed }
        guard let match = config.identityRules.resolveBeforeHeaders(message, onTimeout: { regexTimedOut($0.description, "identity_rule") })
        else { return .proceed }
        message.earlyMatch = match
        // Refusing at MAIL FROM saves the transfer; hold needs end-of-message, and local mail is always held.
        guard config.mode == .enforce, message.scope != .local, config.lockAction != .hold else { return .proceed }
        do {
            let activeLock = try filter.metrics.timeLockCheck { try plan.accounting.activeLock(of: match.identity) }
            filter.metrics.lockCheck(locked: activeLock != nil)
            guard let lock = activeLock else { return .proceed }
            recordLockedAttempt(match.identity, heldQueueID: nil, queueID: message.macros[MacroName.queueID])
            message.refusedEarly = true
            let verdict = lockVerdict(identity: match.identity)
            log(queueID: message.macros[MacroName.queueID], "identity=\(match.identity) rule=\(match.ruleIndex) stage=mail action=\(Self.name(verdict)) reason=\"locked: \(lock.reason)\"")
            return verdict
        } catch {
            // on_error = accept: the end of the message tries again, and counts the message (or
            // keeps it for later) and removes its identity header; accepting here would skip both.
            let verdict = failure(error, queueID: message.macros[MacroName.queueID], goingOn: "go on to the end of the message")
            return verdict == .accept ? .proceed : verdict
        }
    }

    public func recipient(_ recipient: String, macros: MacroSource) -> Verdict {
        message.recipients += 1
        if message.scope != .inbound, message.recipientDomains.count < MessageEvent.maxRecipientDomains,
           let domain = MessageEvent.recipientDomain(recipient), !message.recipientDomains.contains(domain) {
            message.recipientDomains.append(domain)
        }
        if config.abuseMailboxes.diverts(recipient, mailer: macros.value(MacroName.recipientMailer), fromStranger: message.scope == .inbound) {
            message.abuseRecipients.append(recipient)
        } else if message.scanning, message.recipientAddresses.count < 500 {
            message.recipientAddresses.append(recipient)
        }
        return .proceed
    }

    public func data(macros: MacroSource) -> Verdict {
        guard message.scope == .inbound, message.abuseRecipients.isEmpty, !message.scanning,
              !config.removeForgedAuthenticationResults else { return .proceed }
        log(queueID: macros.value(MacroName.queueID) ?? message.macros[MacroName.queueID], "scope=inbound action=accept (not counted)")
        return .accept
    }

    /// Authenticated beats local beats trusted network; anything else is a stranger's inbound mail.
    private func scope() -> MessageScope {
        if message.macros[MacroName.saslLogin] != nil { return .authenticated }
        if let d = daemonName, !config.localDaemonName.isEmpty, d == config.localDaemonName { return .local }
        if config.isTrusted(clientAddress: clientAddress) { return .trusted }
        return .inbound
    }

    // MARK: headers

    public func header(name: String, value rawValue: UnsafeRawBufferPointer) -> Verdict {
        let key = name.lowercased()
        // Read as text only where it is matched, as libmilter gives values without SMFIP_HDR_LEADSPC
        // (admins' patterns are written for that): the one space after the colon dropped.
        var value: String { String(decoding: rawValue.first == 32 ? UnsafeRawBufferPointer(rebasing: rawValue.dropFirst()) : rawValue, as: UTF8.self) }
        if config.removeForgedAuthenticationResults, key == "authentication-results" {
            message.authenticationResultsSeen += 1
            // Our authenticating milters run after us: a field in our name now was written by the sender.
            if let id = AuthenticationResults.claimedAuthservID(value), config.authservIDs.contains(id) {
                // One past the cap is enough to refuse the message: no more are noted.
                if message.forgedAuthenticationResults.count <= Self.maxForgedFields {
                    message.forgedAuthenticationResults.append(message.authenticationResultsSeen)
                }
                return .proceed
            }
        }
        if message.keepsBytes {
            keepBytes(Self.crlfLines(Array(name.utf8) + [58] + Array(rawValue) + [13, 10]))
        }
        message.headersSeen += 1
        guard message.headersSeen <= config.maxHeaders, plan.examinedHeaders.contains(key) else { return .proceed }
        // A value of no more bytes than the cap has no more characters either: cut only a longer one.
        message.headers[key, default: []].append(rawValue.count <= config.maxHeaderLength ? value : String(value.prefix(config.maxHeaderLength)))
        return .proceed
    }

    /// A folded field's lines, which the MTA separates with a bare LF, end in CRLF as delivered.
    static func crlfLines(_ line: [UInt8]) -> [UInt8] {
        guard line.dropLast(2).contains(10) else { return line }
        var out: [UInt8] = []
        out.reserveCapacity(line.count + 8)
        for (i, byte) in line.enumerated() {
            if byte == 10, i == 0 || line[i - 1] != 13 { out.append(13) }
            out.append(byte)
        }
        return out
    }

    /// Kept only for a report or a scan, and only up to its cap: past that, no more is sent.
    public func body(_ chunk: UnsafeRawBufferPointer) -> Verdict {
        guard message.keepsBytes, !message.bytesTooLarge else { return .skip }
        endHeaders()
        keepBytes(Array(chunk))
        return message.bytesTooLarge ? .skip : .proceed
    }

    /// The blank line between the kept headers and the body (there is no end-of-headers event: NOEOH).
    private func endHeaders() {
        guard !message.headersEnded else { return }
        message.headersEnded = true
        keepBytes([13, 10])
    }

    /// Keeps message bytes up to the cap of what they are kept for; past it, keeps none.
    private func keepBytes(_ bytes: [UInt8]) {
        guard !message.bytesTooLarge else { return }
        let cap = message.abuseRecipients.isEmpty ? config.scanning.maxMessageSize : config.abuseMaxSize
        let fits = message.bytes.count + bytes.count <= cap
        guard fits, filter.messageMemory.take(bytes.count, limit: config.milterMemory) else {
            message.bytesTooLarge = true
            message.memoryExhausted = fits
            filter.messageMemory.give(message.bytes.count)
            message.bytes = []
            return
        }
        message.bytes += bytes
    }

    // MARK: end of message: verdict and action

    /// The most fields forged in our name that are removed; a message with more is refused. Each
    /// removal costs the MTA a search of the header from its top, and no MTA writes that many.
    static let maxForgedFields = 32

    public func endOfMessage(macros: MacroSource) -> (Verdict, [Modification]) {
        let queueID = macros.value(MacroName.queueID) ?? message.macros[MacroName.queueID]
        defer { startOver() }
        if message.forgedAuthenticationResults.count > Self.maxForgedFields {
            log(queueID: queueID, "scope=\(message.scope.rawValue) action=reject: \(message.forgedAuthenticationResults.count) Authentication-Results fields in our authserv_id's name from the sender", level: .warning)
            return (.reject(SMTPReply(code: "550", status: "5.7.1", text: "Too many Authentication-Results header fields")), [])
        }
        // A message with no body had no event to end its headers: the kept bytes end them now, before
        // anything measures them against a cap.
        if message.keepsBytes { endHeaders() }
        if !message.forgedAuthenticationResults.isEmpty, !grantedActions.contains(.changeHeaders) {
            let verdict = notGranted(.changeHeaders, "remove the Authentication-Results fields forged in our authserv_id's name",
                                     queueID: queueID, goingOn: "deliver them, check and count the message")
            guard verdict == .accept else { return (verdict, []) }
            message.forgedAuthenticationResults = []
        }
        let (verdict, changes) = decide(queueID: queueID)
        switch verdict {
        case .accept, .hold: return (verdict, granted(changes + forgedFieldRemovals(queueID: queueID), queueID: queueID))
        default: return (verdict, granted(changes, queueID: queueID))
        }
    }

    /// An MTA that does not grant a change this message needs (an older or another MTA): per
    /// on_error, decided before the message is counted, so that the client's retry is not counted twice.
    private func notGranted(_ action: MilterActions, _ need: String, queueID: String?, goingOn: String) -> Verdict {
        let verdict = onErrorVerdict
        log(queueID: queueID, "error: the MTA did not grant \(Self.flagName(action)) at negotiation, needed to \(need);"
            + " action=\(verdict == .accept ? goingOn : Self.name(verdict)) (on_error=\(config.onError.rawValue))", level: .error)
        return verdict
    }

    /// The changes the MTA granted; one it did not (an added header when header changes are not
    /// granted) is left out and logged, where asking for it would fail the message after its count.
    private func granted(_ changes: [Modification], queueID: String?) -> [Modification] {
        // Postfix and Sendmail grant every action: their messages pay for no filtering or message text.
        guard grantedActions != .all else { return changes }
        let kept = changes.filter { grantedActions.contains($0.action) }
        if kept.count < changes.count {
            tellNotGranted(MilterActions(changes.map(\.action)), "\(changes.count - kept.count) change(s) not made", queueID: queueID)
        }
        return kept
    }

    /// Logs the actions of `actions` the MTA did not grant, once a connection, not for each message.
    private func tellNotGranted(_ actions: MilterActions, _ consequence: String, queueID: String?) {
        let missing = actions.subtracting(grantedActions).subtracting(toldNotGranted)
        guard !missing.isEmpty else { return }
        toldNotGranted.formUnion(missing)
        log(queueID: queueID, "the MTA did not grant \(Self.flagName(missing)) at negotiation: \(consequence)", level: .warning)
    }

    static func flagName(_ actions: MilterActions) -> String {
        [(MilterActions.addHeaders, "SMFIF_ADDHDRS"), (.changeHeaders, "SMFIF_CHGHDRS"), (.deleteRecipients, "SMFIF_DELRCPT"),
         (.quarantine, "SMFIF_QUARANTINE")].filter { actions.contains($0.0) }.map(\.1).joined(separator: ", ")
    }

    /// With remove_forged_authentication_results, deletes the fields forged in our name; the
    /// indexes count down so each deletion leaves the earlier indexes valid.
    private func forgedFieldRemovals(queueID: String?) -> [Modification] {
        let forged = message.forgedAuthenticationResults
        guard !forged.isEmpty else { return [] }
        log(queueID: queueID, "removed \(forged.count) Authentication-Results field(s) in our authserv_id's name from the sender")
        return forged.reversed().map { .changeHeader(name: "Authentication-Results", index: $0, value: nil) }
    }

    /// The verdict on one message and the changes it needs, before forged fields are removed.
    private func decide(queueID: String?) -> (Verdict, [Modification]) {
        var reportChanges: [Modification] = []
        if !message.abuseRecipients.isEmpty {
            switch storeReport(queueID: queueID) {
            case .failed(let verdict):
                // on_error = accept delivers the report as mail; the message is still checked and counted.
                guard verdict == .accept else { return (verdict, []) }
            case .storedAndDiscard: return (.discard, [])
            case .stored(let changes): reportChanges = changes
            }
        }
        if message.scope == .inbound, message.scansMessage {
            // scanner_scope = all: a stranger's mail is scanned for the result header, never counted.
            var scan = ScanSummary()
            do { scan = try self.scan(queueID: queueID, identity: nil) } catch {
                return (scannerTempfail(error, queueID: queueID, summary: "scope=inbound"), [])
            }
            log(queueID: queueID, "scope=inbound \(scan.logText) action=accept (not counted)")
            return (.accept, reportChanges + scan.resultHeader(config.scanning.resultHeader))
        }
        if message.scope == .inbound, message.abuseRecipients.isEmpty {
            // Accepted only now (its headers were read for forged fields): the message's one line.
            log(queueID: queueID, "scope=inbound action=accept (not counted)")
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
        if message.memoryExhausted {
            let verdict = onErrorVerdict
            log(queueID: queueID, "report to \(recipients.joined(separator: ",")) not stored: milter_memory (\(config.milterMemory) bytes) is held by other messages;"
                + " action=\(verdict == .accept ? "deliver the report as mail, check and count the message" : Self.name(verdict)) (on_error=\(config.onError.rawValue))",
                level: .warning)
            return .failed(verdict)
        }
        if message.bytesTooLarge {
            log(queueID: queueID, "report to \(recipients.joined(separator: ",")) is over abuse_max_size (\(config.abuseMaxSize) bytes): delivered, not stored", level: .warning)
            return .stored([])
        }
        do {
            let summary = try intake.enqueue(message.bytes, sender: message.sender, recipients: recipients, queueID: queueID)
            guard !config.abuseKeepDelivery else {
                log(queueID: queueID, "abuse report \(summary) action=deliver (abuse_keep_delivery)")
                return .stored([])
            }
            if message.recipients == recipients.count {
                log(queueID: queueID, "abuse report \(summary) action=discard (stored; no other recipient)")
                return .storedAndDiscard
            }
            guard grantedActions.contains(.deleteRecipients) else {
                log(queueID: queueID, "abuse report \(summary) action=deliver (stored; the MTA did not grant SMFIF_DELRCPT, so its other recipients keep it too)", level: .warning)
                return .stored([])
            }
            log(queueID: queueID, "abuse report \(summary) action=delrcpt \(recipients.joined(separator: ","))")
            return .stored(recipients.map { .deleteRecipient($0) })
        } catch {
            return .failed(failure(error, queueID: queueID, goingOn: "deliver the report as mail, check and count the message"))
        }
    }

    /// Names, counts and judges one outbound message.
    private func countMessage(queueID: String?) -> (Verdict, [Modification]) {
        guard let match = message.earlyMatch
                ?? config.identityRules.resolve(message, onTimeout: { regexTimedOut($0.description, "identity_rule", queueID: queueID) }) else {
            log(queueID: queueID, "identity=- scope=\(message.scope.rawValue) action=accept (no identity rule matched)")
            return (.accept, [])
        }
        let headerSpam = isSpam(queueID: queueID)
        // Without quarantine (an MTA that does not grant it) mail to be held is refused for now instead.
        let lockAction = message.scope == .local || config.lockAction == .hold
            ? (grantedActions.contains(.quarantine) ? LockAction.hold : .tempfail) : config.lockAction
        var event = MessageEvent(identity: match.identity, at: filter.clock.now(), recipients: message.recipients, spam: headerSpam,
                                 messageID: message.headers["message-id"]?.first?.trimmingWhitespace(), queueID: queueID,
                                 recipientDomains: message.recipientDomains)
        var scan = ScanSummary()
        var summary: String {
            "identity=\(match.identity) rule=\(match.ruleIndex) scope=\(message.scope.rawValue) recipients=\(message.recipients)"
                + " spam=\(headerSpam || scan.isSpam ? "yes" : "no")\(scan.logText.isEmpty ? "" : " " + scan.logText)"
        }
        // The login leaves with no message that is delivered: counted, over a limit in monitor mode,
        // held, or accepted uncounted per on_error.
        var identityRemovals = identityHeaderRemovals(match)
        do {
            let heldQueueID = lockAction == .hold ? queueID : nil
            // check → scan → count. Locked mail is never scanned, and a lock the cache knows is
            // enforced even while the store cannot be reached.
            let checked = try filter.metrics.timeLockCheck { try plan.accounting.check(match.identity) }
            // The token is minted (a store write) before the count: once counted, nothing may fail.
            // Refused mail keeps its changes only when held (it may be released).
            let refused = if case .locked? = checked.refusal { lockAction != .hold } else { false }
            if !refused, !identityRemovals.isEmpty, !grantedActions.contains(.changeHeaders) {
                let verdict = notGranted(.changeHeaders, "remove the identity's \(identityHeaderName(match) ?? "") field (identity_header)",
                                         queueID: queueID, goingOn: "deliver it, count the message")
                guard verdict == .accept else { return (verdict, []) }
                identityRemovals = []
            }
            let identityChanges = refused ? [] : try identityRemovals + identityToken(match, refused: checked.refusal != nil, queueID: queueID)
            let outcome: AccountingOutcome
            if let refusal = checked.refusal {
                outcome = refusal
                if case .locked = refusal { recordLockedAttempt(match.identity, heldQueueID: heldQueueID, queueID: queueID) }
            } else {
                if message.scansMessage { scan = try self.scan(queueID: queueID, identity: match.identity) }
                event.spam = headerSpam || scan.isSpam
                event.scan = scan.storedText
                outcome = try plan.accounting.count(event, state: checked.state, heldQueueID: heldQueueID)
            }
            let wasLocked = if case .locked(_, crossing: nil) = outcome { true } else { false }
            filter.metrics.lockCheck(locked: wasLocked)
            let modifications = identityChanges + scan.resultHeader(config.scanning.resultHeader)
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
                    filter.notifier?.identityLocked(lock, cause: .message(queueID: queueID))
                } else {
                    log(queueID: queueID, "\(summary) action=\(Self.name(verdict)) reason=\"locked: \(lock.reason)\"")
                }
                return (verdict, lockAction == .hold ? modifications : [])
            }
        } catch let error as ScannersUnavailable {
            return (scannerTempfail(error, queueID: queueID, summary: summary), [])
        } catch {
            let verdict = failure(error, queueID: queueID)
            // Accepted uncounted (on_error = accept): counted once the store answers again.
            guard verdict == .accept else { return (verdict, []) }
            filter.countBacklog.add(event)
            return (verdict, identityRemovals)
        }
    }

    // MARK: scanners

    /// The scanners' answers for one message.
    struct ScanSummary {
        var results: [(label: String, result: ScanResult, spam: Bool)] = []
        var failed: [String] = []
        var skippedTooBig = false
        var skippedForMemory = false

        var isSpam: Bool { results.contains { $0.spam } }

        /// `scan=spamd:15.3/5.0:spam,rspamd:failed` for the message's log line.
        var logText: String {
            if skippedTooBig { return "scan=skipped(scanner_max_size)" }
            if skippedForMemory { return "scan=skipped(milter_memory)" }
            let parts = results.map { r in
                "\(r.result.scanner):\(Self.score(r.result.score))/\(Self.score(r.result.requiredScore)):\(r.spam ? "spam" : "ham")"
            } + failed.map { "\($0):failed" }
            return parts.isEmpty ? "" : "scan=" + parts.joined(separator: ",")
        }

        /// `spamd 15.3/5.0 spam, rspamd failed` for the outbound log (`show`, `trace`).
        var storedText: String? {
            // Most messages are not scanned: Foundation's replacing costs even on an empty text.
            let logText = logText
            guard !logText.isEmpty else { return nil }
            let text = logText.dropFirst("scan=".count).replacingOccurrences(of: ":", with: " ").replacingOccurrences(of: ",", with: ", ")
            return text.isEmpty ? nil : text
        }

        /// `X-MailWarden-Spam: yes; score=15.3; scanner=spamd` when the admin asked for it.
        func resultHeader(_ name: String?) -> [Modification] {
            guard let name, let shown = results.first(where: { $0.spam }) ?? results.first else { return [] }
            return [.addHeader(name: name, value: "\(shown.spam ? "yes" : "no"); score=\(Self.score(shown.result.score)); scanner=\(shown.result.scanner)")]
        }

        static func score(_ x: Double) -> String { String(format: "%.1f", x) }
    }

    /// Raised when a scanner failed and scanner_failure = tempfail.
    struct ScannersUnavailable: Error, CustomStringConvertible {
        let failures: [String]
        var description: String { failures.joined(separator: "; ") }
    }

    private func scan(queueID: String?, identity: Identity?) throws -> ScanSummary {
        var summary = ScanSummary()
        let now = filter.clock.now()
        if message.memoryExhausted {
            summary.skippedForMemory = true
            return summary
        }
        // A report's bytes are kept up to abuse_max_size, past the scanners' cap.
        if message.bytesTooLarge || message.bytes.count > config.scanning.maxMessageSize {
            summary.skippedTooBig = true
            let limit = config.scanning.maxMessageSize
            for s in scanners { filter.scannerHealth.recordFailure(s.label, .messageTooBig(size: limit + 1, limit: limit), at: now) }
            return summary
        }
        let request = ScanRequest(message: message.bytes, clientAddress: message.clientAddress, clientHostname: clientHostname,
                                  envelopeFrom: message.sender,
                                  recipients: message.recipientAddresses, queueID: queueID, authenticatedUser: message.macros[MacroName.saslLogin] ?? identity)
        var failures: [String] = []
        // Each outcome is noted at its own time: a timeout comes scanner_timeout after the start.
        for scanner in scanners {
            if let resting = filter.scannerHealth.rest(of: scanner.label, at: filter.clock.now()) {
                // Said once, by the failure that started the rest; not on every message meanwhile.
                filter.scannerHealth.recordFailure(scanner.label, resting, at: filter.clock.now())
                summary.failed.append(scanner.name)
                failures.append("\(scanner.label): \(resting)")
                continue
            }
            do {
                let result = try scanner.scan(request)
                let spam = config.scanning.spam.isSpam(result)
                filter.scannerHealth.recordScan(scanner.label, latency: result.latencyMicroseconds, spam: spam, at: filter.clock.now())
                summary.results.append((scanner.label, result, spam))
            } catch {
                filter.scannerHealth.recordFailure(scanner.label, error, at: filter.clock.now())
                summary.failed.append(scanner.name)
                failures.append("\(scanner.label): \(error)")
                log(queueID: queueID, "scanner \(scanner.label) failed: \(error) (scanner_failure=\(config.scanning.onFailure.rawValue))", level: .warning)
            }
        }
        if !failures.isEmpty, config.scanning.onFailure == .tempfail { throw ScannersUnavailable(failures: failures) }
        return summary
    }

    private func scannerTempfail(_ error: Error, queueID: String?, summary: String) -> Verdict {
        log(queueID: queueID, "\(summary) action=tempfail (scanner_failure=tempfail: \(error))", level: .error)
        return .tempfail(SMTPReply(code: "451", status: "4.7.1", text: "Spam scanner unavailable, please try again later"))
    }

    private func isSpam(queueID: String?) -> Bool {
        config.spamHeaders.contains { rule in
            rule.pattern.firstMatch(inAny: message.headerValues(named: rule.name),
                                    onTimeout: { regexTimedOut("\(rule.name) \(rule.pattern)", "spam_header", queueID: queueID) }) != nil
        }
    }

    /// An admin's pattern hit BoundedPattern.timeLimit: it counts as no match, which may leave the
    /// message unnamed or its spam verdict unread, so it is logged and counted, never silent.
    private func regexTimedOut(_ what: String, _ setting: String, queueID: String? = nil) {
        filter.metrics.regexTimeout(setting: setting)
        log(queueID: queueID ?? message.macros[MacroName.queueID], "\(setting) \(what) ran over its \(Int(BoundedPattern.timeLimit * 1000)) ms time limit: taken as no match (simplify the pattern)", level: .warning)
    }

    /// The header field the identity was read from, when identity_header = remove or token takes it away.
    private func identityHeaderName(_ match: IdentityRules.Match) -> String? {
        guard config.identityHeader != .keep else { return nil }
        return config.identityRules.rules[safe: match.ruleIndex - 1]?.headerName
    }

    /// identity_header = remove or token: the fields the identity was read from are deleted.
    private func identityHeaderRemovals(_ match: IdentityRules.Match) -> [Modification] {
        guard let name = identityHeaderName(match) else { return [] }
        // Indexes count down so each deletion leaves the earlier indexes valid.
        return message.headerValues(named: name).indices.reversed().map {
            Modification.changeHeader(name: name, index: $0 + 1, value: nil)
        }
    }

    /// identity_header = token: the X-MailWarden-ID field to add (minting it may write to the store).
    /// A token the store cannot mint fails the message, unless it is refused: a lock stands while the
    /// store is away, and held mail then goes without the token.
    private func identityToken(_ match: IdentityRules.Match, refused: Bool, queueID: String?) throws -> [Modification] {
        guard config.identityHeader == .token, let tokenizer = filter.tokenizer, identityHeaderName(match) != nil else { return [] }
        guard grantedActions.contains(.addHeaders) else {
            tellNotGranted(.addHeaders, "no X-MailWarden-ID field is added (identity_header = token)", queueID: queueID)
            return []
        }
        do {
            return [.addHeader(name: "X-MailWarden-ID", value: try tokenizer.token(for: match.identity))]
        } catch where refused {
            filter.metrics.storeError()
            log(queueID: queueID, "identity=\(match.identity) locked; held without its X-MailWarden-ID: \(error)", level: .warning)
            return []
        }
    }

    /// A message of a locked identity counts as an attempt on its lock. The refusal stands even when
    /// that count cannot be stored (the database away): it is logged, not answered per on_error.
    private func recordLockedAttempt(_ identity: Identity, heldQueueID: String?, queueID: String?) {
        let now = filter.clock.now()
        // Refusals are tallied and written at most once a second (LockedAttempts); held mail at once.
        let count = heldQueueID == nil ? filter.lockedAttempts.note(identity, at: now) : 1
        guard count > 0 else { return }
        do {
            try filter.store.recordLockedAttempts(count, identity: identity, at: now, heldQueueID: heldQueueID)
        } catch {
            filter.metrics.storeError()
            log(queueID: queueID, "identity=\(identity) locked; its attempt was not counted: \(error)", level: .warning)
        }
    }

    private func lockVerdict(identity: Identity, action: LockAction? = nil) -> Verdict {
        switch action ?? config.lockAction {
        case .tempfail: return .tempfail(SMTPReply(code: "451", status: "4.7.1", text: config.lockReply))
        case .hold: return .hold(reason: "MailWarden: \(identity) is locked")
        case .reject: return .reject(SMTPReply(code: "550", status: "5.7.1", text: config.lockReply))
        }
    }

    private var onErrorVerdict: Verdict {
        config.onError == .accept ? .accept
            : .tempfail(SMTPReply(code: "451", status: "4.3.0", text: "Temporary MailWarden failure, please try again later"))
    }

    /// on_error: tempfail keeps the mail with the client; accept lets it through uncounted, or, where
    /// the message is not decided yet, lets it go on (`goingOn` says how, for the log).
    private func failure(_ error: Error, queueID: String?, goingOn: String? = nil) -> Verdict {
        filter.metrics.storeError()
        let verdict = onErrorVerdict
        let action = verdict == .accept ? goingOn ?? Self.name(verdict) : Self.name(verdict)
        log(queueID: queueID, "error: \(error); action=\(action) (on_error=\(config.onError.rawValue))", level: .error)
        return verdict
    }

    // MARK: abort / close

    public func abort() {
        startOver()
    }

    public func close() {
        startOver()
    }

    /// Forgets the message, giving back the bytes it held.
    private func startOver() {
        filter.messageMemory.give(message.bytes.count)
        message = MessageState()
    }

    // MARK: logging

    private func log(queueID: String?, _ text: String, level: Logger.Level = .info) {
        filter.logger.log(level: level, "\(queueID ?? "NOQUEUE"): \(text)")
    }

    /// `window=messages:3,recipients:5,…`: appended in place, as it goes into every message's log line.
    static func describe(_ totals: [Counter: Int]) -> String {
        var text = "window="
        text.reserveCapacity(80)
        var first = true
        for counter in Counter.allCases {
            guard let total = totals[counter] else { continue }
            if !first { text += "," }
            first = false
            text += counter.rawValue
            text += ":"
            text += String(total)
        }
        return text
    }

    static func name(_ verdict: Verdict) -> String {
        switch verdict {
        case .proceed, .skip, .accept: return "accept"
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
