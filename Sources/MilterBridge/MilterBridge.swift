// The libmilter edge: C callbacks (trampolines) that find the connection's MilterSession through
// smfi_getpriv, call it, and turn its Verdict and Modifications into smfi_* calls. Nothing else.
//
// Protocol quirks handled here, each measured on this platform (see README "Performance notes"):
// - libmilter never sets TCP_NODELAY: a modifying milter's two small writes at end-of-message stall
//   40 ms on Nagle. We set it on the listening socket; accepted sockets inherit it.
// - Without an xxfi_data callback Postfix stalls another 40 ms on its own side, so we register a no-op.
// - libmilter's worker pool runs one connection's callbacks on several threads: no thread-locals.
// - Callbacks are global functions outside main.swift: in main.swift they would be main-actor code
//   and trap when a worker thread calls them.
import CMilter
import Glibc
import MailWardenMilter
import Synchronization

private let installedFilter = Mutex<MailFilter?>(nil)

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
        desc.xxfi_flags = UInt(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT)
        desc.xxfi_connect = mwConnect
        desc.xxfi_envfrom = mwEnvFrom
        desc.xxfi_envrcpt = mwEnvRcpt
        desc.xxfi_header = mwHeader
        desc.xxfi_data = mwData
        desc.xxfi_body = mwBody
        desc.xxfi_eom = mwEndOfMessage
        desc.xxfi_abort = mwAbort
        desc.xxfi_close = mwClose
        guard socket.withCString({ smfi_setconn(UnsafeMutablePointer(mutating: $0)) }) == MI_SUCCESS else {
            throw StartError(description: "socket \(socket): libmilter does not accept this socket specification")
        }
        guard smfi_register(desc) == MI_SUCCESS else { throw StartError(description: "smfi_register failed") }
        guard smfi_opensocket(true) == MI_SUCCESS else {
            throw StartError(description: "cannot listen on \(socket): the port is in use, the address is not local, or the directory is not writable")
        }
        if let path = unixSocketPath(socket) {
            chmod(path, mode_t(socketMode))
            if let socketGroup {
                guard let group = getgrnam(socketGroup) else { throw StartError(description: "socket_group \(socketGroup): no such group") }
                guard chown(path, uid_t.max, group.pointee.gr_gid) == 0 else {
                    throw StartError(description: "cannot give \(path) to group \(socketGroup): \(String(cString: strerror(errno))) (mailwardend's user must be a member of it)")
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

// MARK: - Session lookup

private func session(_ ctx: OpaquePointer?) -> MilterSession? {
    guard let p = smfi_getpriv(ctx) else { return nil }
    return Unmanaged<MeasuredSession>.fromOpaque(p).takeUnretainedValue()
}

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

private func apply(_ verdict: Verdict, _ ctx: OpaquePointer?) -> sfsistat {
    switch verdict {
    case .proceed: return SMFIS_CONTINUE
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

private func apply(_ modification: Modification, _ ctx: OpaquePointer?) -> Bool {
    switch modification {
    case .addHeader(let name, let value):
        return name.withCString { n in value.withCString { v in
            smfi_addheader(ctx, UnsafeMutablePointer(mutating: n), UnsafeMutablePointer(mutating: v))
        } } == MI_SUCCESS
    case .changeHeader(let name, let index, let value):
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

private func mwConnect(_ ctx: OpaquePointer?, _ host: UnsafeMutablePointer<CChar>?, _ sa: UnsafeMutablePointer<sockaddr>?) -> sfsistat {
    guard let filter = installedFilter.withLock({ $0 }) else { return SMFIS_TEMPFAIL }
    let s = filter.makeSession()
    guard smfi_setpriv(ctx, Unmanaged.passRetained(s).toOpaque()) == MI_SUCCESS else {
        Unmanaged.passUnretained(s).release()
        return SMFIS_TEMPFAIL
    }
    return apply(s.connect(hostname: string(host), address: numericAddress(sa), macros: ContextMacros(ctx: ctx)), ctx)
}

private func mwEnvFrom(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    return apply(s.mailFrom(string(argv?[0]), macros: ContextMacros(ctx: ctx)), ctx)
}

private func mwEnvRcpt(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    return apply(s.recipient(string(argv?[0]), macros: ContextMacros(ctx: ctx)), ctx)
}

private func mwHeader(_ ctx: OpaquePointer?, _ name: UnsafeMutablePointer<CChar>?, _ value: UnsafeMutablePointer<CChar>?) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    return apply(s.header(name: string(name), value: string(value)), ctx)
}

/// Must exist even when it only continues: without it Postfix stalls 40 ms per message (see the top of this file).
private func mwData(_ ctx: OpaquePointer?) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    return apply(s.data(macros: ContextMacros(ctx: ctx)), ctx)
}

private func mwBody(_ ctx: OpaquePointer?, _ bytes: UnsafeMutablePointer<UInt8>?, _ length: Int) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    return apply(s.body(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length)), ctx)
}

private func mwEndOfMessage(_ ctx: OpaquePointer?) -> sfsistat {
    guard let s = session(ctx) else { return SMFIS_TEMPFAIL }
    let (verdict, modifications) = s.endOfMessage(macros: ContextMacros(ctx: ctx))
    for m in modifications where !apply(m, ctx) {
        // A modification the MTA refused would leave the message half-changed: let the client retry.
        return SMFIS_TEMPFAIL
    }
    let status = apply(verdict, ctx)
    return status == SMFIS_CONTINUE ? SMFIS_ACCEPT : status
}

private func mwAbort(_ ctx: OpaquePointer?) -> sfsistat {
    session(ctx)?.abort()
    return SMFIS_CONTINUE
}

private func mwClose(_ ctx: OpaquePointer?) -> sfsistat {
    if let p = smfi_getpriv(ctx) {
        let s = Unmanaged<MeasuredSession>.fromOpaque(p).takeRetainedValue()
        s.close()
        _ = smfi_setpriv(ctx, nil)
    }
    return SMFIS_CONTINUE
}
