import Foundation
import Testing
import MailWardenCore
@testable import MailWardenReports

/// The frame the parser process answers with must bring back the very report it parsed, and a frame
/// that is cut, padded or corrupt must be refused, never misread.
@Suite struct ReportFrameTests {
    @Test(arguments: Corpus.samples.map(\.file))
    func everyCorpusReportReadsBackEqual(_ file: String) throws {
        let report = ReportParser.parse(try Corpus.load(file))
        #expect(try ReportFrame.decode(ReportFrame.encode(report)) == report)
    }

    @Test func everyFieldOfAReportTravels() throws {
        let original = OriginalMessage(headers: [HeaderField(name: "Message-ID", value: "<a@b>")], bytes: [0, 255, 10],
                                       isHeadersOnly: true, sentAt: -5)
        let auth = AuthenticationResults(authservID: "mx.example.com", results: [
            .init(method: "dkim", result: "pass", reason: nil, properties: [.init(ptype: "header", property: "d", value: "isp.example")]),
            .init(method: "spf", result: "fail", reason: "bad ip", properties: []),
        ])
        let report = AbuseReport(
            status: .triage, format: .csv, type: .networkAbuse, reason: "why", isForPerson: true, reporter: "r@isp.example", sourceIPs: ["192.0.2.1", "2001:db8::1"],
            sourceNetworks: ["198.51.100.0/24"], domains: ["example.net"], urls: ["http://example.net/ü"], emails: ["x@example.net"], receivedAt: 1_800_000_000,
            messageID: nil, subject: "Ärger", references: ["a@b", "c@d"], fields: [HeaderField(name: "k", value: "")],
            bulkEntries: [BulkEntry(source: "192.0.2.9", type: nil, domains: [], urls: ["u"], receivedAt: nil),
                          BulkEntry(source: "203.0.113.8/29", type: .malware, domains: [], urls: [], receivedAt: 1)], original: original,
            evidence: [EvidenceItem(filename: "a.bin", contentType: "application/octet-stream", bytes: Array(0...255))],
            isTruncated: true, fromDomain: "isp.example", authenticationResults: [auth])
        #expect(try ReportFrame.decode(ReportFrame.encode(report)) == report)
    }

    @Test func aCutPaddedOrCorruptFrameIsRefused() throws {
        let frame = ReportFrame.encode(ReportParser.parse(try Corpus.load("arf-rfc5965-b2-complete.eml")))
        for cut in [0, 1, 8, frame.count / 2, frame.count - 1] {
            #expect(throws: ReportFrame.Unreadable.self) { try ReportFrame.decode(Array(frame.prefix(cut))) }
        }
        #expect(throws: ReportFrame.Unreadable.self) { try ReportFrame.decode(frame + [0]) }
        // The status (first: its length, then its bytes) made longer than the frame, then unknown.
        #expect(throws: ReportFrame.Unreadable.self) { try ReportFrame.decode([255, 255, 255, 255, 255, 255, 255, 127] + frame.dropFirst(8)) }
        var unknownStatus = frame
        unknownStatus[8] = UInt8(ascii: "x")
        #expect(throws: ReportFrame.Unreadable.self) { try ReportFrame.decode(unknownStatus) }
    }
}
