// MessageSession driven by the input as a script of milter events (connect, MAIL, RCPT, DATA,
// header, body, end of message, abort, close) in any order and number, over an in-memory store.
// The first byte picks one of a few configs; every later event reads its arguments from the input.
import FuzzDriver
import Logging
import MailWardenCore
import MailWardenMilter
import Synchronization

/// Policy state in memory: locks, counted events and complaints, enough for the lock logic.
final class MemoryStore: PolicyStore {
    private struct State {
        var locks: [Identity: LockRecord] = [:]
        var events: [Identity: [MessageEvent]] = [:]
        var complaints: [Identity: [(reporter: String, reportID: Int64, at: Int64)]] = [:]
        /// Moves with every lock and unlock, as the store's triggers move it.
        var version: Int64 = 0
    }
    private let state = Mutex(State())

    func state(of identity: Identity) throws -> IdentityState {
        IdentityState(lock: state.withLock { $0.locks[identity] }, override: nil)
    }

    func policyVersion() throws -> Int64 { state.withLock { $0.version } }

    func policySnapshot() throws -> PolicySnapshot {
        state.withLock { PolicySnapshot(version: $0.version, locks: $0.locks, overrides: [:]) }
    }

    func record(_ run: [MessageEvent], windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        guard let event = run.last else { return [:] }
        return state.withLock { s in
            s.events[event.identity, default: []] += run
            return Self.totals(s.events[event.identity] ?? [], at: event.at, windows: windows)
        }
    }

    func windowTotals(of identity: Identity, at: Int64, windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        state.withLock { s in Self.totals(s.events[identity] ?? [], at: at, windows: windows) }
    }

    private static func totals(_ events: [MessageEvent], at: Int64, windows: [Counter: TimeSpan]) -> [Counter: Int] {
        func inWindow(_ counter: Counter) -> [MessageEvent] {
            let since = at - (windows[counter]?.seconds ?? 3600)
            return events.filter { $0.at > since }
        }
        return [.messages: inWindow(.messages).count, .recipients: inWindow(.recipients).reduce(0) { $0 + $1.recipients },
                .spam: inWindow(.spam).filter(\.spam).count]
    }

    func recordComplaint(identity: Identity, reporter: String, reportID: Int64, at: Int64, window: TimeSpan) throws -> ComplaintTally {
        state.withLock { s in
            s.complaints[identity, default: []].append((reporter, reportID, at))
            let inWindow = (s.complaints[identity] ?? []).filter { $0.at > at - window.seconds }
            return ComplaintTally(reporters: Set(inWindow.map(\.reporter)).count, reportIDs: inWindow.map(\.reportID))
        }
    }

    func lock(_ lock: LockRecord) throws -> (lock: LockRecord, isNew: Bool) {
        state.withLock { s in
            if let existing = s.locks[lock.identity], !existing.hasExpired(at: lock.lockedAt) { return (existing, false) }
            s.locks[lock.identity] = lock
            s.version += 1
            return (lock, true)
        }
    }

    func unlock(identity: Identity, by actor: String, reason: String?, at: Int64) throws -> Bool {
        state.withLock { s in
            s.events[identity] = nil
            s.version += 1
            return s.locks.removeValue(forKey: identity) != nil
        }
    }

    func liftExpiredLock(of identity: Identity, at: Int64) throws -> Bool {
        let expired = state.withLock { $0.locks[identity]?.hasExpired(at: at) ?? false }
        return try expired && unlock(identity: identity, by: "cooldown", reason: nil, at: at)
    }

    func recordLockedAttempts(_ count: Int, identity: Identity, at: Int64, heldQueueID: String?) throws {
        state.withLock { $0.locks[identity]?.attempts += count }
    }

    /// Nothing here fails, so there is nothing to roll back.
    func atomically<T>(_ body: () throws -> T) throws -> T { try body() }
}

/// Takes reports as the desk's queue does: the raw bytes, unread.
struct QueueingIntake: ReportIntake {
    func enqueue(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?) throws -> String {
        "queued \(raw.count) bytes"
    }
}

struct PlainTokenizer: IdentityTokenizer {
    func token(for identity: Identity) throws -> String { "mw-\(identity.utf8.count)" }
}

/// A clock that moves a minute at every end of message, so windows fill and empty.
final class StepClock: WallClock {
    private let t = Mutex<Int64>(1_800_000_000)
    func now() -> Int64 { t.withLock { $0 } }
    func step() { t.withLock { $0 += 60 } }
}

struct Macros: MacroSource {
    let values: [String: String]
    func value(_ name: String) -> String? { values[name] }
}

let configs = [
    "limit_messages = 3/1h\nlimit_spam = 1/1h\nabuse_mailboxes = abuse@*\ntrusted_networks = 192.0.2.0/24\n"
        + "identity_rule = user header X-Auth-User /^(?<id>[^@ ]+@[^@ ]+)$/i lowercase\nidentity_rule = sasl macro {auth_authen}\n",
    "mode = monitor\nlimit_recipients = 2/1h\nidentity_rule = env envelope_from /^<?(?<id>[^@>]+)@/\nidentity_header = remove\n",
    "lock_action = hold\nlimit_messages = 1/10m\nidentity_rule = ip client_address\nidentity_header = token\nlock_cooldown = 2m\n",
    "lock_action = tempfail\nlimit_messages = 2/1h\nabuse_mailboxes = *@abuse.example\nabuse_keep_delivery = yes\nmax_headers = 10\nmax_header_length = 64\n",
    "authserv_id = mx.example.com\nremove_forged_authentication_results = yes\nlimit_messages = 2/1h\n",
]

/// Reads the input front to back; past its end every read gives zeros and empty strings.
struct Script {
    var bytes: ArraySlice<UInt8>
    var isAtEnd: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// A string of up to 255 bytes, its length first.
    mutating func text() -> String {
        let n = Int(byte())
        let taken = bytes.prefix(n)
        bytes = bytes.dropFirst(n)
        return String(decoding: taken, as: UTF8.self)
    }

    mutating func macros() -> Macros {
        var values = ["i": "Q\(byte())", "{daemon_name}": byte() & 1 == 0 ? "smtpd" : "mailwarden-local"]
        if byte() & 1 == 1 { values["{auth_authen}"] = text() }
        return Macros(values: values)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageSession(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var script = Script(bytes: Array(UnsafeBufferPointer(start: start, count: count))[...])
    // Parsed per input, like FuzzIdentityRules' rules, so LeakSanitizer sees every regex freed.
    guard let config = try? Config.parse(text: configs[Int(script.byte()) % configs.count], file: "fuzz.conf") else { return 0 }
    let clock = StepClock()
    let filter = MailFilter(config: config, store: MemoryStore(), tokenizer: PlainTokenizer(), notifier: nil, intake: QueueingIntake(),
                            clock: clock, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
    var session = filter.makeSession()
    // The changes the MTA grants (all, unless a new connection says otherwise): a change it did not
    // grant would fail in libmilter after the message was counted.
    var granted = MilterActions.all
    func checkGranted(_ answer: (Verdict, [Modification])) {
        if case .hold = answer.0, !granted.contains(.quarantine) { fatalError("held without SMFIF_QUARANTINE") }
        for m in answer.1 {
            let needed: MilterActions = switch m {
            case .addHeader: .addHeaders
            case .changeHeader: .changeHeaders
            case .deleteRecipient: .deleteRecipients
            }
            if !granted.contains(needed) { fatalError("\(m) without its action granted") }
        }
    }
    // The bridge tells the MTA not to wait for these answers: any answer but "go on" would be lost.
    func unanswered(_ event: MilterEvents, _ verdict: Verdict) {
        if session.eventPlan.unanswered.contains(event) && verdict != .proceed { fatalError("\(event) answered \(verdict)") }
    }
    while !script.isAtEnd {
        switch script.byte() % 10 {
        case 0: unanswered(.connect, session.connect(hostname: script.text(), address: script.text(), macros: script.macros()))
        case 1: _ = session.mailFrom(script.text(), macros: script.macros())
        case 2: unanswered(.recipient, session.recipient(script.text(), macros: script.macros()))
        case 3: _ = session.data(macros: script.macros())
        case 4: unanswered(.header, session.header(name: script.text(), value: script.text()))
        case 5: _ = Array(script.text().utf8).withUnsafeBytes { session.body($0) }
        case 6:
            checkGranted(session.endOfMessage(macros: script.macros()))
            clock.step()
        case 7: session.abort()
        case 8:
            session.close()
            session = filter.makeSession()
            granted = MilterActions(rawValue: script.byte() & MilterActions.all.rawValue)
            session.negotiated(actions: granted)
        default:
            // A long body chunk: the kept bytes meet abuse_max_size and scanner_max_size.
            _ = [UInt8](repeating: script.byte(), count: Int(script.byte()) << 12).withUnsafeBytes { session.body($0) }
        }
    }
    session.close()
    // Every message's kept bytes are given back however it ended (milter_memory).
    if filter.messageMemory.inUse != 0 { fatalError("\(filter.messageMemory.inUse) bytes still held after the connection closed") }
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
