// The libmilter edge: C callbacks (trampolines) that find the connection's MilterSession through
// smfi_getpriv, call it, and turn its Verdict and Modifications into smfi_* calls. Nothing else.
//
// Protocol quirks handled here, each measured on this platform (the DATA one in bench/results.md):
// - libmilter never sets TCP_NODELAY: a modifying milter's two small writes at end-of-message stall
//   40 ms on Nagle. We set it on the listening socket; accepted sockets inherit it.
// - Over TCP, Postfix stalls 40 ms on Nagle unless DATA is answered: smtpd's last write before the
//   message goes unacknowledged and holds back cleanup's first. So over TCP DATA is always asked for
//   and answered "go on"; over a unix socket (no Nagle) only where the session uses it.
// - xxfi_negotiate asks only for the events the session uses, no reply where its answer is always
//   "go on", and only the macros it reads (EventPlan); an MTA that offers fewer flags (older
//   protocol) simply gets fewer asked of it.
// - libmilter's worker pool runs one connection's callbacks on several threads: no thread-locals.
// - Callbacks are global functions outside main.swift: in main.swift they would be main-actor code
//   and trap when a worker thread calls them.
import CMilter
import Glibc
import MailWardenMilter
import Synchronization

private let installedFilter = Mutex<MailFilter?>(nil)
/// Whether the MTA reaches us over TCP (fixed when the socket opens; a reload cannot move it).
private let listensOnTCP = Atomic<Bool>(false)

public enum MilterRunner {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Registers with libmilter and binds the socket now, so a busy port or bad path fails loudly here
    /// (libmilter would otherwise report it only to syslog when smfi_main starts).
    public static func open(filter: MailFilter, socket: String, socketMode: UInt32, socketGroup: String?) throws(StartError) {
        installedFilter.withLock { $0 = filter }
        var desc = smfiDesc()
        desc.xxfi_name = strdup("mailwardend")
        desc.xxfi_version = SMFI_VERSION
        desc.xxfi_flags = actions
        desc.xxfi_connect = mwConnect
        desc.xxfi_envfrom = mwEnvFrom
        desc.xxfi_envrcpt = mwEnvRcpt
        desc.xxfi_header = mwHeader
        desc.xxfi_data = mwData
        desc.xxfi_body = mwBody
        desc.xxfi_eom = mwEndOfMessage
        desc.xxfi_abort = mwAbort
        desc.xxfi_close = mwClose
        desc.xxfi_negotiate = mwNegotiate
        guard socket.withCString({ smfi_setconn(UnsafeMutablePointer(mutating: $0)) }) == MI_SUCCESS else {
            throw StartError(description: "socket \(socket): libmilter does not accept this socket specification")
        }
        guard smfi_register(desc) == MI_SUCCESS else { throw StartError(description: "smfi_register failed") }
        guard smfi_opensocket(true) == MI_SUCCESS else {
            throw StartError(description: "cannot listen on \(socket): the port is in use, the address is not local, or the directory is not writable")
        }
        listensOnTCP.store(unixSocketPath(socket) == nil, ordering: .relaxed)
        if let path = unixSocketPath(socket) {
            chmod(path, mode_t(socketMode))
            if let socketGroup {
                guard let group = getgrnam(socketGroup) else { throw StartError(description: "socket_group \(socketGroup): no such group") }
                guard chown(path, uid_t.max, group.pointee.gr_gid) == 0 else {
                    throw StartError(description: "cannot give \(path) to group \(socketGroup): \(String(cString: strerror(errno))) (its directory must be set-group-ID to it, as the package's is, or mailwardend's user a member of it)")
                }
            }
        }
        setNoDelayOnListeners()
    }

    /// Runs libmilter's loop until SIGTERM/SIGINT/SIGHUP; returns its status (0 on a clean stop).
    public static func run() -> Int32 { smfi_main() }

    static func unixSocketPath(_ socket: String) -> String? {
        for prefix in ["unix:", "local:"] where socket.hasPrefix(prefix) { return String(socket.dropFirst(prefix.count)) }
        return nil
    }

    /// Sets TCP_NODELAY on this process's listening TCP sockets (libmilter's listener among them).
    static func setNoDelayOnListeners() {
        for fd in Int32(0)..<1024 {
            var listening: Int32 = 0
            var domain: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0, listening == 1 else { continue }
            len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0, domain == AF_INET || domain == AF_INET6 else { continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}

// MARK: - Connections

/// One MTA connection: its session and what was negotiated for it.
private final class Connection {
    let session: MeasuredSession
    /// Events whose answer the MTA does not wait for (the session always says "go on" to them).
    var unanswered: MilterEvents = []
    /// Whether the MTA understands SMFIS_SKIP.
    var canSkip = false
    /// SMFIP_HDR_LEADSPC: header values come, and go, with the space after the colon.
    var leadingSpace = false

    init(_ session: MeasuredSession) { self.session = session }
}

/// The connection's state, made at negotiation (or at connect, if the MTA did not negotiate).
private func connection(_ ctx: OpaquePointer?) -> Connection? {
    guard let p = smfi_getpriv(ctx) else { return nil }
    return Unmanaged<Connection>.fromOpaque(p).takeUnretainedValue()
}

private func startConnection(_ ctx: OpaquePointer?) -> Connection? {
    guard let filter = installedFilter.withLock({ $0 }) else { return nil }
    let c = Connection(filter.makeSession())
    guard smfi_setpriv(ctx, Unmanaged.passRetained(c).toOpaque()) == MI_SUCCESS else {
        Unmanaged.passUnretained(c).release()
        return nil
    }
    return c
}

/// The SMFIP_NO* step that leaves out each event, and the SMFIP_NR_* step that needs no reply to it.
private let stepsByEvent: [(event: MilterEvents, notSent: Int, noReply: Int)] = [
    (.connect, SMFIP_NOCONNECT, SMFIP_NR_CONN), (.helo, SMFIP_NOHELO, SMFIP_NR_HELO),
    (.mailFrom, SMFIP_NOMAIL, SMFIP_NR_MAIL), (.recipient, SMFIP_NORCPT, SMFIP_NR_RCPT),
    (.data, SMFIP_NODATA, SMFIP_NR_DATA), (.header, SMFIP_NOHDRS, SMFIP_NR_HDR),
    (.endOfHeaders, SMFIP_NOEOH, SMFIP_NR_EOH), (.body, SMFIP_NOBODY, SMFIP_NR_BODY),
    (.unknownCommand, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN),
]

private extension MacroStage {
    var smfim: Int32 {
        switch self {
        case .connect: SMFIM_CONNECT
        case .mailFrom: SMFIM_ENVFROM
        case .recipient: SMFIM_ENVRCPT
        case .data: SMFIM_DATA
        case .endOfMessage: SMFIM_EOM
        }
    }
}

/// The modifications mailwardend may make, as the session names them.
private let actionFlags: [(action: MilterActions, flag: UInt)] = [
    (.addHeaders, UInt(SMFIF_ADDHDRS)), (.changeHeaders, UInt(SMFIF_CHGHDRS)),
    (.deleteRecipients, UInt(SMFIF_DELRCPT)), (.quarantine, UInt(SMFIF_QUARANTINE)),
]
private let actions = actionFlags.reduce(UInt(0)) { $0 | $1.flag }

/// Macros are read only while the event they came with is being handled.
private struct ContextMacros: MacroSource {
    let ctx: OpaquePointer?
    func value(_ name: String) -> String? {
        name.withCString { smfi_getsymval(ctx, UnsafeMutablePointer(mutating: $0)) }.map { String(cString: $0) }
    }
}

private func string(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

private func numericAddress(_ sa: UnsafeMutablePointer<sockaddr>?) -> String? {
    guard let sa else { return nil }
    let family = Int32(sa.pointee.sa_family)
    guard family == AF_INET || family == AF_INET6 else { return nil }
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    let len = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    guard getnameinfo(sa, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
    return host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

// MARK: - Verdicts and modifications

/// `canSkip`: the MTA negotiated SMFIS_SKIP (else a skip is answered as "go on").
private func apply(_ verdict: Verdict, _ ctx: OpaquePointer?, canSkip: Bool = false) -> sfsistat {
    switch verdict {
    case .proceed: return SMFIS_CONTINUE
    case .skip: return canSkip ? SMFIS_SKIP : SMFIS_CONTINUE
    case .accept: return SMFIS_ACCEPT
    case .discard: return SMFIS_DISCARD
    case .reject(let reply):
        setReply(ctx, reply)
        return SMFIS_REJECT
    case .tempfail(let reply):
        setReply(ctx, reply)
        return SMFIS_TEMPFAIL
    case .hold(let reason):
        guard reason.withCString({ smfi_quarantine(ctx, UnsafeMutablePointer(mutating: $0)) }) == MI_SUCCESS else {
            return SMFIS_TEMPFAIL
        }
        return SMFIS_CONTINUE
    }
}

private func setReply(_ ctx: OpaquePointer?, _ reply: SMTPReply) {
    // libmilter passes the text through a format string: a literal % must be doubled.
    let text = reply.text.replacingOccurrences(of: "%", with: "%%")
    reply.code.withCString { c in
        reply.status.withCString { s in
            text.withCString { t in
                _ = smfi_setreply(ctx, UnsafeMutablePointer(mutating: c), UnsafeMutablePointer(mutating: s), UnsafeMutablePointer(mutating: t))
            }
        }
    }
}

/// With SMFIP_HDR_LEADSPC the MTA writes a value as given: the space after the colon is ours to add.
private func apply(_ modification: Modification, _ ctx: OpaquePointer?, leadingSpace: Bool) -> Bool {
    switch modification {
    case .addHeader(let name, let value):
        let value = leadingSpace ? " " + value : value
        return name.withCString { n in value.withCString { v in
            smfi_addheader(ctx, UnsafeMutablePointer(mutating: n), UnsafeMutablePointer(mutating: v))
        } } == MI_SUCCESS
    case .changeHeader(let name, let index, let value):
        let value = leadingSpace ? value.map { " " + $0 } : value
        return name.withCString { n in
            if let value {
                return value.withCString { v in smfi_chgheader(ctx, UnsafeMutablePointer(mutating: n), Int32(index), UnsafeMutablePointer(mutating: v)) }
            }
            return smfi_chgheader(ctx, UnsafeMutablePointer(mutating: n), Int32(index), nil)
        } == MI_SUCCESS
    case .deleteRecipient(let rcpt):
        return rcpt.withCString { smfi_delrcpt(ctx, UnsafeMutablePointer(mutating: $0)) } == MI_SUCCESS
    }
}

// MARK: - Callbacks

/// Asks the MTA for what the session's EventPlan says, within what the MTA offers (`steps`).
private func mwNegotiate(_ ctx: OpaquePointer?, _ offeredActions: UInt, _ offeredSteps: UInt, _: UInt, _: UInt,
                         _ pf0: UnsafeMutablePointer<UInt>?, _ pf1: UnsafeMutablePointer<UInt>?,
                         _ pf2: UnsafeMutablePointer<UInt>?, _ pf3: UnsafeMutablePointer<UInt>?) -> sfsistat {
    guard let c = startConnection(ctx) else { return SMFIS_TEMPFAIL }
    let plan = c.session.eventPlan
    var unused = plan.unused
    if listensOnTCP.load(ordering: .relaxed) { unused.remove(.data) }
    // Header values with their leading space: a stored report keeps the field as it came.
    var steps = UInt(SMFIP_SKIP | SMFIP_HDR_LEADSPC)
    for step in stepsByEvent {
        if unused.contains(step.event) { steps |= UInt(step.notSent) }
        if plan.unanswered.contains(step.event) { steps |= UInt(step.noReply) }
    }
    steps &= offeredSteps
    var asked = actions & offeredActions
    var granted = MilterActions()
    for flag in actionFlags where asked & flag.flag != 0 { granted.insert(flag.action) }
    c.session.negotiated(actions: granted)
    if offeredActions & UInt(SMFIF_SETSYMLIST) != 0 {
        for list in plan.macroLists {
            _ = list.names.withCString { smfi_setsymlist(ctx, list.stage.smfim, UnsafeMutablePointer(mutating: $0)) }
        }
        asked |= UInt(SMFIF_SETSYMLIST)
    }
    for step in stepsByEvent where steps & UInt(step.noReply) != 0 { c.unanswered.insert(step.event) }
    c.canSkip = steps & UInt(SMFIP_SKIP) != 0
    c.leadingSpace = steps & UInt(SMFIP_HDR_LEADSPC) != 0
    pf0?.pointee = asked
    pf1?.pointee = steps
    pf2?.pointee = 0
    pf3?.pointee = 0
    return SMFIS_CONTINUE
}

/// The session's verdict as libmilter's status; no reply at all where none was negotiated.
private func answer(_ c: Connection, _ event: MilterEvents, _ ctx: OpaquePointer?, _ verdict: () -> Verdict) -> sfsistat {
    let v = verdict()
    return c.unanswered.contains(event) ? SMFIS_NOREPLY : apply(v, ctx, canSkip: c.canSkip)
}

private func mwConnect(_ ctx: OpaquePointer?, _ host: UnsafeMutablePointer<CChar>?, _ sa: UnsafeMutablePointer<sockaddr>?) -> sfsistat {
    guard let c = connection(ctx) ?? startConnection(ctx) else { return SMFIS_TEMPFAIL }
    return answer(c, .connect, ctx) { c.session.connect(hostname: string(host), address: numericAddress(sa), macros: ContextMacros(ctx: ctx)) }
}

private func mwEnvFrom(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    return answer(c, .mailFrom, ctx) { c.session.mailFrom(string(argv?[0]), macros: ContextMacros(ctx: ctx)) }
}

private func mwEnvRcpt(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    return answer(c, .recipient, ctx) { c.session.recipient(string(argv?[0]), macros: ContextMacros(ctx: ctx)) }
}

private func mwHeader(_ ctx: OpaquePointer?, _ name: UnsafeMutablePointer<CChar>?, _ value: UnsafeMutablePointer<CChar>?) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    let bytes = value.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    if c.leadingSpace { return answer(c, .header, ctx) { c.session.header(name: string(name), value: bytes) } }
    return HeaderValue.withSpaceAfterColon(bytes) { restored in answer(c, .header, ctx) { c.session.header(name: string(name), value: restored) } }
}

/// Must exist even when it only continues: without it Postfix stalls 40 ms per message (see the top of this file).
private func mwData(_ ctx: OpaquePointer?) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    return answer(c, .data, ctx) { c.session.data(macros: ContextMacros(ctx: ctx)) }
}

private func mwBody(_ ctx: OpaquePointer?, _ bytes: UnsafeMutablePointer<UInt8>?, _ length: Int) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    return answer(c, .body, ctx) { c.session.body(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length)) }
}

private func mwEndOfMessage(_ ctx: OpaquePointer?) -> sfsistat {
    guard let c = connection(ctx) else { return SMFIS_TEMPFAIL }
    let (verdict, modifications) = c.session.endOfMessage(macros: ContextMacros(ctx: ctx))
    for m in modifications where !apply(m, ctx, leadingSpace: c.leadingSpace) {
        // A modification the MTA refused would leave the message half-changed: let the client retry.
        return SMFIS_TEMPFAIL
    }
    let status = apply(verdict, ctx)
    return status == SMFIS_CONTINUE ? SMFIS_ACCEPT : status
}

private func mwAbort(_ ctx: OpaquePointer?) -> sfsistat {
    connection(ctx)?.session.abort()
    return SMFIS_CONTINUE
}

private func mwClose(_ ctx: OpaquePointer?) -> sfsistat {
    if let p = smfi_getpriv(ctx) {
        let c = Unmanaged<Connection>.fromOpaque(p).takeRetainedValue()
        c.session.close()
        _ = smfi_setpriv(ctx, nil)
    }
    return SMFIS_CONTINUE
}
