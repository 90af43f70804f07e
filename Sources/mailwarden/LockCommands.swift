// locks, lock, unlock, held: the locks in force, changing them by hand, and the mail they held.
import ArgumentParser
import MailWardenCore
import MailWardenStore

struct Locks: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the identities locked now, newest lock first.")

    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let locks = try store.activeLocks()
        if json { return Output.print(.array(locks.map(\.json))) }
        guard !locks.isEmpty else { return print("no active locks") }
        print(Listing(columns: Self.columns, rows: locks).table)
    }

    static let columns: [Column<LockRecord>] = [
        Column("identity") { .string($0.identity) },
        Column("locked_at") { .time($0.lockedAt) },
        Column("locked_by") { .string($0.lockedBy) },
        Column("expires_at") { .time($0.expiresAt) },
        Column("attempts") { .int($0.attempts) },
        Column("reason") { .string($0.reason) },
    ]
}

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lock an identity by hand: its mail gets lock_action until 'mailwarden unlock'.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: IdentityArgument
    @Option(help: "Why it is locked (kept with the lock and in the audit log).") var reason: String
    @Option(name: .customLong("for"), help: ArgumentHelp("Lift the lock by itself after this long, e.g. 12h (default: never).", valueName: "duration"),
            transform: parseDuration)
    var duration: TimeSpan?

    func validate() throws {
        if reason.trimmingWhitespace().isEmpty { throw ValidationError("give a --reason: it is what the next admin reads") }
    }

    func run() throws {
        let (config, store) = try options.openStore()
        let now = SystemClock().now()
        let (lock, isNew) = try store.adminLock(try target.named(by: config, in: store), by: actor.name, reason: reason,
                                                expiresAt: duration.map { now + $0.seconds }, at: now)
        guard isNew else {
            throw CLIFailure("""
                \(lock.identity) is already locked since \(Output.time(lock.lockedAt)) by \(lock.lockedBy): \(lock.reason) \
                (to change that lock, 'mailwarden unlock' it first)
                """)
        }
        print("locked \(lock.identity)" + (lock.expiresAt.map { " until \(Output.time($0))" } ?? ""))
    }
}

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lift an identity's lock and clear its windows: its next message passes.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: IdentityArgument
    @Option(help: "Why it is unlocked (kept in the lock history and the audit log).") var reason: String?

    func run() throws {
        let (_, store) = try options.openStore()
        guard try store.unlock(identity: target.identity, by: actor.name, reason: reason, at: SystemClock().now()) else {
            throw CLIFailure("\(target.identity) is not locked (see 'mailwarden locks')")
        }
        print("unlocked \(target.identity); its windows start afresh")
    }
}

struct Held: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the messages of an identity put on Postfix's hold queue, with the postsuper commands to release or delete them.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var target: IdentityArgument
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let held = Listing(columns: Self.columns, rows: try store.heldMessages(of: target.identity))
        if json { return Output.print(held.json) }
        guard !held.rows.isEmpty else { return print("no held messages for \(target.identity)") }
        print(held.table)
        print("\nRelease (deliver) them with:")
        for message in held.rows { print("postsuper -H \(message.queueID)") }
        print("or delete them with:")
        for message in held.rows { print("postsuper -d \(message.queueID)") }
    }

    static let columns: [Column<HeldMessage>] = [
        Column("queue_id") { .string($0.queueID) },
        Column("held_at") { .time($0.heldAt) },
        Column("lock_id") { $0.lockID.map(JSONValue.number) ?? .null },
    ]
}
