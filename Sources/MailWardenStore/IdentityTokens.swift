// X-MailWarden-ID tokens: HMAC-SHA256 of the identity under a random key kept in the store (so a
// backup of the store carries the key), base64url without padding, 128 bits (22 characters).
// Each minted token is remembered beside its identity, so a complaint's token traces back by lookup.
import Crypto
import Foundation
import MailWardenCore
import Synchronization

public final class StoreIdentityTokenizer: IdentityTokenizer {
    private let store: any IdentityTokenStore
    private let key: SymmetricKey
    /// Tokens this process recorded in the store, by identity: the message path writes each once,
    /// and computes none again (the HMAC and its encoding cost more than the rest of the count's
    /// answer). Past `maxRemembered` identities it starts afresh, so a customer that invents
    /// identities costs memory up to the bound and one more write of each once the bound is passed.
    /// Keyed by the identity's bytes, as the HMAC and the store see it: a String key would take two
    /// canonically equivalent spellings (é as one scalar or as e and an accent) for one identity.
    private let recorded = Mutex<[[UInt8]: String]>([:])
    private let maxRemembered: Int

    public init(store: any IdentityTokenStore, maxRemembered: Int = 100_000) throws {
        self.store = store
        self.maxRemembered = max(maxRemembered, 1)
        key = SymmetricKey(data: try store.tokenKey())
    }

    public func token(for identity: Identity) throws -> String {
        let name = Array(identity.utf8)
        if let token = recorded.withLock({ $0[name] }) { return token }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(name), using: key)
        let token = Data(mac.prefix(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        // Remembered only once recorded: a failed write is tried again by the next message, or the
        // desk could not trace this token. Two first messages at once may both write it (the same row).
        try store.rememberToken(token, for: identity)
        recorded.withLock { tokens in
            if tokens.count >= maxRemembered { tokens.removeAll(keepingCapacity: true) }
            tokens[name] = token
        }
        return token
    }
}

extension SQLStore {
    /// The HMAC key, created (32 random bytes) on first use. Hosts that start together on one
    /// database all end up with the key the first insert stored: every host must mint the same tokens.
    public func tokenKey() throws -> [UInt8] {
        try db.transaction(durable: true) { tx in
            var rng = SystemRandomNumberGenerator()
            let candidate = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // A key shorter than 32 bytes was not written by MailWarden: replace it.
            try tx.query("""
                INSERT INTO settings(key, value) VALUES('token_key', ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE length(settings.value) < 32
                """, [.blob(candidate)])
            guard let key = try tx.query("SELECT value FROM settings WHERE key = 'token_key'").first?.first?.blob, key.count >= 32 else {
                throw StoreError(.failed, "store \(location): the token key could not be stored")
            }
            return key
        }
    }

    public func rememberToken(_ token: String, for identity: Identity) throws {
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
