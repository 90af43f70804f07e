// The scanners a config asks for, in config order, each bounded by the config's limits.
import MailWardenCore

public func makeScanners(_ config: ScannerConfig) -> [any SpamScanner] {
    let limits = ScannerLimits(config)
    return config.scanners.map { endpoint -> any SpamScanner in
        switch endpoint.kind {
        case .spamd: SpamdScanner(address: endpoint.address, limits: limits)
        case .rspamd: RspamdScanner(address: endpoint.address, limits: limits)
        }
    }
}
