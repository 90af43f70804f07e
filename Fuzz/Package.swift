// swift-tools-version:6.0
// libFuzzer targets for the parsers and the message path. A package of its own, depending on the
// main one by path, so that the main package's `swift build` never needs the sanitizers. The
// targets reach internal entry points (MIMEPart, ZIPArchive) with `@testable import`, as the unit
// tests do, instead of widening the library's public API for them; the build therefore passes
// `-enable-testing` (see `make fuzz` in the Makefile, which builds and runs them). Each target
// defines LLVMFuzzerTestOneInput and hands its command line to libFuzzer through FuzzDriver.
import PackageDescription

let package = Package(
    name: "MailWardenFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "MailWarden", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzReportParser", dependencies: ["FuzzDriver", .product(name: "MailWardenReports", package: "MailWarden")]),
        .executableTarget(name: "FuzzMIME", dependencies: ["FuzzDriver", .product(name: "MailWardenReports", package: "MailWarden")]),
        .executableTarget(name: "FuzzZIP", dependencies: ["FuzzDriver", .product(name: "MailWardenReports", package: "MailWarden")]),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzDriver", .product(name: "MailWardenCore", package: "MailWarden")]),
        .executableTarget(name: "FuzzIdentityRules", dependencies: ["FuzzDriver", .product(name: "MailWardenCore", package: "MailWarden")]),
        .executableTarget(name: "FuzzMessageSession", dependencies: [
            "FuzzDriver", .product(name: "MailWardenMilter", package: "MailWarden"), .product(name: "MailWardenCore", package: "MailWarden"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
