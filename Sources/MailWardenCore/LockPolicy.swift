// Limits, sliding-window totals and the decision to lock.
// Semantics (kept by the tests): with a limit of N per window, events 1..N inside the window pass;
// the event that makes the total N+1 crosses the limit and locks the identity.

/// What is counted per identity.
public enum Counter: String, CaseIterable, Sendable, Codable {
    case messages, recipients, spam, complaints

    public var configKey: String { "limit_\(rawValue)" }
}

/// A per-identity setting for one counter: its own limit, or none at all.
public enum LimitOverride: Sendable, Equatable, CustomStringConvertible {
    case limit(RateLimit)
    case disabled

    public init?(_ text: String) {
        if text.lowercased() == "none" { self = .disabled } else if let l = RateLimit(text) { self = .limit(l) } else { return nil }
    }

    public var description: String {
        switch self {
        case .limit(let l): return l.description
        case .disabled: return "none"
        }
    }
}

/// The four limits in force for an identity; nil means not limited.
public struct LimitSet: Sendable, Equatable {
    public var messages: RateLimit?
    public var recipients: RateLimit?
    public var spam: RateLimit?
    public var complaints: RateLimit?

    public init(messages: RateLimit? = nil, recipients: RateLimit? = nil, spam: RateLimit? = nil, complaints: RateLimit? = nil) {
        self.messages = messages
        self.recipients = recipients
        self.spam = spam
        self.complaints = complaints
    }

    public subscript(counter: Counter) -> RateLimit? {
        get {
            switch counter {
            case .messages: return messages
            case .recipients: return recipients
            case .spam: return spam
            case .complaints: return complaints
            }
        }
        set {
            switch counter {
            case .messages: messages = newValue
            case .recipients: recipients = newValue
            case .spam: spam = newValue
            case .complaints: complaints = newValue
            }
        }
    }

    public func overridden(by overrides: [Counter: LimitOverride]) -> LimitSet {
        var out = self
        for (counter, o) in overrides {
            switch o {
            case .limit(let l): out[counter] = l
            case .disabled: out[counter] = nil
            }
        }
        return out
    }

    /// The window each counter is summed over; counters without a limit are still summed over
    /// the longest window so `show` has a figure for them.
    public var windows: [Counter: TimeSpan] {
        let longest = Counter.allCases.compactMap { self[$0]?.window }.max() ?? .hours(1)
        return Dictionary(uniqueKeysWithValues: Counter.allCases.map { ($0, self[$0]?.window ?? longest) })
    }
}

/// An identity's own settings, made by an admin with `mailwarden limits` / `exempt`.
public struct IdentityOverride: Sendable, Equatable {
    public var limits: [Counter: LimitOverride]
    public var exempt: Bool

    public init(limits: [Counter: LimitOverride] = [:], exempt: Bool = false) {
        self.limits = limits
        self.exempt = exempt
    }
}

/// A limit that an identity's totals went over.
public struct LimitCrossing: Sendable, Equatable, CustomStringConvertible {
    public let counter: Counter
    public let limit: RateLimit
    public let count: Int

    public var description: String { "\(counter.rawValue) \(count) > \(limit)" }
}

/// Decides whether window totals cross a limit.
public struct LockPolicy: Sendable {
    public let limits: LimitSet

    public init(limits: LimitSet) { self.limits = limits }

    /// Checked in this order so the reason names the most telling signal first.
    static let order: [Counter] = [.spam, .complaints, .recipients, .messages]

    public func crossing(totals: [Counter: Int]) -> LimitCrossing? {
        for counter in Self.order {
            guard let limit = limits[counter], let total = totals[counter], total > limit.count else { continue }
            return LimitCrossing(counter: counter, limit: limit, count: total)
        }
        return nil
    }
}
