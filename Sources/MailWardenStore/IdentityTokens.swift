// X-MailWarden-ID tokens: HMAC-SHA256 of the identity under a random key kept in the store (so a
// backup of the store carries the key), base64url without padding, 128 bits (22 characters).
// Each minted token is remembered beside its identity, so a complaint's token traces back by lookup.
import Crypto
import Foundation
import MailWardenCore
import Synchronization

public final class StoreIdentityTokenizer: IdentityTokenizer {
    private let store: SQLiteStore
    private let key: SymmetricKey
    /// Tokens already recorded in the store by this process: the message path writes each once.
    private let recorded = Mutex<Set<String>>([])

    public init(store: SQLiteStore) throws {
        self.store = store
        key = SymmetricKey(data: try store.tokenKey())
    }

    public func token(for identity: Identity) throws -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(identity.utf8), using: key)
        let token = Data(mac.prefix(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        if recorded.withLock({ $0.insert(token).inserted }) {
            try store.rememberToken(token, for: identity)
        }
        return token
    }
}

extension SQLiteStore {
    /// The HMAC key, created (32 random bytes) on first use.
    func tokenKey() throws -> [UInt8] {
        try db.transaction { tx in
            if let key = try tx.query("SELECT value FROM settings WHERE key = 'token_key'").first?.first?.blob, key.count >= 32 {
                return key
            }
            var rng = SystemRandomNumberGenerator()
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try tx.query("INSERT OR REPLACE INTO settings(key, value) VALUES('token_key', ?)", [.blob(key)])
            return key
        }
    }

    func rememberToken(_ token: String, for identity: Identity) throws {
        try db.transaction { tx in
            let id = try Self.touchIdentity(tx, identity, at: Int64(Date().timeIntervalSince1970), counts: nil)
            try tx.query("UPDATE identities SET token = ? WHERE id = ?", [.text(token), .int(id)])
        }
    }

    /// The identity a token was minted for, if this store minted it.
    public func identity(forToken token: String) throws -> Identity? {
        try db.query("SELECT name FROM identities WHERE token = ?", [.text(token)]).first?.first?.text
    }
}
