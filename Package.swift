// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MailWarden",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mailwardend", targets: ["mailwardend"]),
        .executable(name: "mailwarden", targets: ["mailwarden"]),
        // For the libFuzzer package under Fuzz/, which depends on this one by path.
        .library(name: "MailWardenCore", targets: ["MailWardenCore"]),
        .library(name: "MailWardenReports", targets: ["MailWardenReports"]),
        .library(name: "MailWardenMilter", targets: ["MailWardenMilter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure Swift: config, identity rules, policy windows, lock decisions, reporter authentication.
        // No C; no I/O but reading the public suffix list once.
        .target(name: "MailWardenCore"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CMilter", pkgConfig: "milter", providers: [.apt(["libmilter-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Abuse-mailbox parsing: one raw message in, one structured report out. Pure Swift, no I/O.
        .target(name: "MailWardenReports", dependencies: ["MailWardenCore"]),
        // The abuse desk's worker logic: take queued reports, have them parsed, trace, file on cases,
        // count complaints. mailwardend does not link it (nor the parser): it only queues raw bytes.
        .target(name: "MailWardenDesk", dependencies: ["MailWardenCore", "MailWardenReports"]),
        // The store behind the core's store contract: its SQL, written once, over SQLite (one host)
        // or PostgreSQL through libpq (several hosts, one database).
        .target(name: "MailWardenStore", dependencies: [
            "MailWardenCore", "CSQLite", "CLibPQ",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The milter's message path, driven by events; knows nothing of libmilter.
        .target(name: "MailWardenMilter", dependencies: [
            "MailWardenCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // Lock notices by mail (notify_smtp) and notify_command, off the caller's thread; the daemon
        // and the desk worker both send them.
        .target(name: "MailWardenNotices", dependencies: ["MailWardenCore"]),
        // spamd and rspamd clients behind the core's SpamScanner; blocking sockets, no event loop.
        .target(name: "MailWardenScanners", dependencies: ["MailWardenCore"]),
        // C trampolines and smfi_* calls only.
        .target(name: "MilterBridge", dependencies: ["MailWardenMilter", "CMilter"]),
        .executableTarget(name: "mailwardend", dependencies: [
            "MailWardenCore", "MailWardenStore", "MailWardenMilter", "MilterBridge", "MailWardenScanners", "MailWardenNotices",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "mailwarden", dependencies: [
            "MailWardenCore", "MailWardenStore", "MailWardenDesk", "MailWardenReports", "MailWardenNotices",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "MailWardenCoreTests", dependencies: ["MailWardenCore"]),
        .testTarget(name: "MailWardenReportsTests", dependencies: ["MailWardenReports", "MailWardenCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MailWardenStoreTests", dependencies: ["MailWardenStore", "MailWardenCore"]),
        .testTarget(name: "MailWardenMilterTests", dependencies: [
            "MailWardenMilter", "MailWardenCore", "MailWardenStore",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        // Parsers and fakes always; the real spamd and rspamd when MW_SPAMD / MW_RSPAMD name them.
        .testTarget(name: "MailWardenScannersTests", dependencies: ["MailWardenScanners", "MailWardenCore"]),
        .testTarget(name: "MailWardenDeskTests", dependencies: [
            "MailWardenDesk", "MailWardenStore", "MailWardenCore", "MailWardenReports",
        ]),
        .testTarget(name: "MailWardenNoticesTests", dependencies: ["MailWardenNotices", "MailWardenCore"]),
        // Golden-output tests of the `mailwarden` executable (run as a process); the store is linked to seed data.
        .testTarget(name: "MailWardenCLITests", dependencies: ["MailWardenStore", "MailWardenCore"]),
    ],
    swiftLanguageModes: [.v6]
)
