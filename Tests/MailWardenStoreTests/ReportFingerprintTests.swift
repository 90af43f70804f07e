import Foundation
import Testing
@testable import MailWardenStore

/// Fingerprints are stored (content_hash) and compared with those of reports queued by earlier
/// versions: the same message must keep the same fingerprint. The expected values were computed
/// by the implementation of 2026-12-04 (String-based), before it was rewritten on bytes.
private let fingerprintExamples: [(name: String, raw: [UInt8], fingerprint: String)] = [
    ("crlf", Array("Subject: a\r\n\r\nbody\r\n".utf8),
     "e5291d8b3fb5a7cb813159cea3c36d4a3cec5690da1918a5d0f1b3b9dcad3794"),
    ("lf-trace", Array("Received: by mx\nSubject:  a\n\nbody\n".utf8),
     "e5291d8b3fb5a7cb813159cea3c36d4a3cec5690da1918a5d0f1b3b9dcad3794"),
    ("unicode-name", Array("Subj\u{e9}ct : caf\u{e9}  au\tlait\n\nx".utf8),
     "5f4b3e6993717dc6f44cdd534b2327223457210f55b3e003bf8f5ab36a52b449"),
    ("leading-continuation", Array(" folded\nSubject: x\n\nb".utf8),
     "cf10eb8853f559ad5ba22ebcaf5f3587e8eb7704993cf0eda7964206e609c09b"),
    ("no-colon", Array("garbage line\nSubject: x\n\nb".utf8),
     "52697deaad13562c1b1c24cbab169b7941066278697d4929c39c675e42f33557"),
    ("headers-only", Array("Subject: only headers".utf8),
     "84648b206d7216ea4ded892d0ca2bcf1093d02ee8a3c7ba74fc8429bb3e6a616"),
    ("invalid-utf8", [0x53, 0x75, 0x62, 0x6a, 0x65, 0x63, 0x74, 0x3a, 0x20, 0xff, 0xfe, 0x20, 0x20, 0x78, 0x0a, 0x0a, 0x62, 0x6f, 0x64, 0x79],
     "ff54cd02f928d1a5379fffbb00eb791de878cd91f23944e8c8748e934cca1b8d"),
    ("cr-cr-lf", Array("S: x\n\nline\r\r\nend\r\n".utf8),
     "a28acc13e30d6866e983b373a6e7d97b240ea428437b2fbb5bf1f6a135fb4dbc"),
    ("padded-name", Array("  X-Foo  :   a \t b  \nX-Folded: one\r\n\t two\r\n\n".utf8),
     "6f447639395b811e1b5e9e7aabf3dbb38f5a7208245d8cc8127154f73f455ce5"),
    ("combining-after-space", Array("Subject: a \u{301}b\n\n".utf8),
     "7f47e52e79acffa522742e388aaece9f879ebfa8232625c26054ea46d8024e7b"),
    ("nbsp-received", Array("\u{a0}Received: x\nSubject: y\n\nb".utf8),
     "0336530f37afe135e2d070bc05aeec3b3f8b2fcce6b5e28902f419d4b8615360"),
    ("empty", Array("".utf8),
     "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b"),
    ("body-starts-lf", Array("A: b\r\n\r\n\nx\r\n".utf8),
     "9494ffecbd09b1aca98bd813aa0d074726591d25a209ed4b5484c7014d47c21c"),
]

@Suite struct ReportFingerprintTests {
    @Test(arguments: fingerprintExamples.map(\.name))
    func aFingerprintIsWhatEarlierVersionsStored(_ name: String) throws {
        let example = try #require(fingerprintExamples.first { $0.name == name })
        #expect(ReportFingerprint.of(example.raw) == example.fingerprint)
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MailWardenReportsTests/Fixtures/reports").standardizedFileURL

    static let corpusFingerprints: [String: String] = [
        "abusehub-botnet-drone-csv-pgp.eml": "3d04dabbae88ad5738fd9dc886236a1f4d4e43294787a0376b32e67404f8de23",
        "arf-fbl-aol.eml": "3651af6005263ca9a47472cf80c8491d3bfdf3ef590fef75eec2767694f9ddb4",
        "arf-fbl-comcast-qp-html.eml": "edf5b15307aee1798c5b6cb57edb9473baab7ad63cf3989c9ecb340e405e10c3",
        "arf-fbl-smp-crlf.eml": "215bd60c33a67d36a9589712fe2889abf8ea65db6fc4195e86ea5e59bf0e11a1",
        "arf-fbl-yahoo.eml": "4c44cd3b5c51140abea03f00310ef4d91a8945c980551b61de19a71205b39dbd",
        "arf-fbl-zoho-iso8859-subject.eml": "55bbed831036cbd15d0b07c0725e6b000054739f5cb7c8ff2513cd2391d220a0",
        "arf-opt-out-rfc822-headers.eml": "3774b1f6947b4ee6ef100958c394f8583a25d78117646630e1017d2d50fe7b51",
        "arf-outgoing-spamexperts-smtp-auth.eml": "9b659ad826de80e34c7d7b1586b789d5059e17d89bf31b87246915bd277447e9",
        "arf-returnpath-multi-domain.eml": "b40d9eda920ace8c71ad1bdd23f753c000c398f0f783e7b41608b690f47481f5",
        "arf-rfc5965-b1-simple.eml": "f3a93a033246e65d5d3d72a70d159672e0c336c430d72d3d7404907581cc3c52",
        "arf-rfc5965-b2-complete.eml": "60a0558950bb5cc306bedb5159830799a1889756f87befe7c2bc83559d228289",
        "arf-spamtrap-abusix.eml": "51f3d855c2034d06cb7c416212e4958f9d8efad1b8a567d95448dc7d2f67f6f0",
        "authfail-dkim-bodyhash-phishing.eml": "ed43600ef0d88ae882621cd1776f9f79f2e803119472122dabf3f19901358b70",
        "authfail-rfc6591-dkim-bodyhash.eml": "89b2ee025a1da330ca947a7364e810567eea910b27a43bdc507d7c471c412239",
        "cleanmx-malware-url-pgp-iso8859.eml": "705d78bff3cb33e5e431a6d46a175f38ec4942a41b8fdc9a29bacd3abe6b02e6",
        "cyscon-malware-url-qp.eml": "ea62af0d747a7c8446ce7cf6f2e03853fd26f9adfa8a9d24dee081167d82f39a",
        "dmarc-failure-exim-plaintext-no-arf.eml": "cecf18a08966eefa6ae12ebd1a74f207e90fd3961d380e606535071df24d82bc",
        "dmarc-failure-lua-crlf.eml": "06ea4db2d728fadf9a0c972297f376dd6e1715154e8b0332f690e9e5be19ee2d",
        "dmarc-failure-netease-base64-report.eml": "5b152b613e54e80538723f2764ebba79c2470330047cd95ebcff7cf5d380138b",
        "dmarc-failure-opendmarc-rfc822-headers.eml": "c0038841ca8d87a3db04e9acd8b59711e2fe1cd6c37694d87b423230afccef86",
        "dmca-ipechelon-acns-xml-attachment.eml": "4b54691a3aed1a2cbf65a8ee402836ee0a77a7a9e354200c1f48bee1013fc1a7",
        "dmca-irdeto-acns-pgp.eml": "fba2a42fd69b2e89f416a3950bef7bd1363d9151b68665847e1fea8e2e9749f7",
        "google-safebrowsing-xml.eml": "d203293e43778ec1657d13387a3a57e3ef028591c36f32a250ba4974fe34beb5",
        "jmrp-hotmail-complaint-rfc822.eml": "c4d8848827b77422efbc69d7ceddf96ff16b279b831e8f220b1317b445663c0e",
        "negative-autoreply-away.eml": "c098d8b40b0046d630ff75b4395168b4c23d27f1cc230aa03fd2bd2c5ae817fa",
        "negative-autoreply-outlook-cp1252.eml": "bcf39bc15274e0dffda14ac78bf2dd7ce861a60e9f8764143443ad1300ba0b02",
        "negative-dsn-bounce-rfc3464.eml": "85ee27c5f14e6eee08617f862651322648c7c7deb4fff2979d260f4b56e2e59f",
        "projecthoneypot-monitor-multi-ip.eml": "89ef66d2e44a91b2afd0bcf42b364a602526b63d52b856c32b1a34b1b72c8512",
        "shadowserver-dns-openresolver-csv-zip.eml": "7bf927f26cdb686039b6d5e5b6472ef6874fbda3b492badff4e9ba0d2af53055",
        "shadowserver-scan-redis-csv-zip.eml": "2ed0f6e5ab6822def9c605a4b4e81b4001e2f5515140dd05d8b122e58eea3aba",
        "spamcop-source-ip-forwarded.eml": "1abd2f7ba97e00d38bc0b63d3816053a8988883d989b1cbed748ae560c2c6f63",
        "webiron-batched-botnet-attack.eml": "bb8fd3c22c8ebbd105f0d8a7659d898d22efcf193053393615fdaf6b553d93c2",
        "xarf-netcraft-malware-qp.eml": "8c02cd677b9350a5dfe8614df2ef936c1abfafad70606939ea6d7cd7c89f2cd2",
        "xarf-netcraft-phishing-dutch.eml": "682c2c3d0291643ee6a0d26dd991d1c182eae73e7f8b0235ab9c601086bedcab",
        "xarf-v4-email-transport-example.eml": "8d1093fe5b6cafe9ca1ff763799df5848f685f8ef0897752caba183fe0be0bff",
        "xarf01-cleanmx-harvesting-mangled-crlf.eml": "4a92034db6ac8b88ef8bb0d3894a7b927427ca14b07e7f059c1bb62292353987",
        "xarf02-blocklistde-regbot-ipv4.eml": "becc1d14400ba2ac3d31be0e7b5f1aacfbe3c9c34f4708d111eec732d74e2806",
        "xarf02-blocklistde-regbot-ipv6.eml": "971890501b77b3a2838bf770676318af0fce8771272394b5c97d1bc007dbe395",
    ]

    @Test func theCorpusKeepsItsFingerprints() throws {
        for (file, fingerprint) in Self.corpusFingerprints {
            let raw = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(file)))
            #expect(ReportFingerprint.of(raw) == fingerprint, "\(file)")
        }
    }
}
