// Inputs that once crashed a fuzz target (Fuzz/), replayed through the same entry point: each file
// under Fixtures/fuzz-regressions/TARGET/ must now give a result that keeps the parser's contract.
import Foundation
import Testing
@testable import MailWardenReports

struct FuzzRegression: CustomTestStringConvertible, Sendable {
    let target: String
    let file: String
    var testDescription: String { "\(target)/\(file)" }

    static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz-regressions")

    static let all: [FuzzRegression] = {
        let manager = FileManager.default
        let targets = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        return targets.sorted().flatMap { target in
            ((try? manager.contentsOfDirectory(atPath: directory.appendingPathComponent(target).path)) ?? []).sorted()
                .map { FuzzRegression(target: target, file: $0) }
        }
    }()

    func bytes() throws -> [UInt8] {
        Array(try Data(contentsOf: Self.directory.appendingPathComponent(target).appendingPathComponent(file)))
    }
}

@Suite struct FuzzRegressionTests {
    @Test func theIssue9InputIsKept() {
        #expect(FuzzRegression.all.contains { $0.target == "report-parser" && $0.file == "issue-9-date-overflow.eml" })
    }

    @Test(arguments: FuzzRegression.all)
    func replays(_ regression: FuzzRegression) throws {
        let bytes = try regression.bytes()
        switch regression.target {
        case "report-parser":
            let report = ReportParser.parse(bytes)
            #expect((report.status == .filed) == (report.reason == nil), "filed without a reason, or else with one")
            // 1970-01-01 to 9999-12-31 end of day, give or take the widest zone offset (14 h).
            #expect(report.receivedAt.map { (-50_400...253_402_350_799).contains($0) } ?? true)
        case "mime":
            func count(_ part: MIMEPart) -> Int { 1 + part.parts.map(count).reduce(0, +) }
            #expect(count(MIMEPart.parse(bytes[...], budget: DecodeBudget())) <= ReportLimits.maxParts + 1)
        case "zip":
            let entries = ZIPArchive.entries(bytes, budget: DecodeBudget())
            #expect(entries.count <= ReportLimits.maxZIPEntries)
            #expect(entries.map(\.bytes.count).reduce(0, +) <= ReportLimits.maxDecodedBytes)
        default:
            Issue.record("no replay for fuzz target \(regression.target)")
        }
    }
}
