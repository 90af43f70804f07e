// Around each connection's MessageSession: times the callbacks of one message and counts its final
// action, so the message path itself stays free of bookkeeping. A message ends at its first answer
// other than "go on" (accept, reject, tempfail at any stage; discard or hold at end-of-message).
public final class MeasuredSession: MilterSession {
    let inner: MessageSession
    private let metrics: MessageMetrics
    private var inMessage = false
    private var spent = Duration.zero

    init(_ inner: MessageSession, metrics: MessageMetrics) {
        self.inner = inner
        self.metrics = metrics
    }

    /// Runs one callback, adding its time to the message's.
    private func timed<T>(_ event: () -> T) -> T {
        let start = ContinuousClock.now
        defer { spent += start.duration(to: .now) }
        return event()
    }

    public var eventPlan: EventPlan { inner.eventPlan }
    public func negotiated(actions: MilterActions) { inner.negotiated(actions: actions) }

    private func answered(_ verdict: Verdict) -> Verdict {
        guard inMessage, verdict != .proceed, verdict != .skip else { return verdict }
        inMessage = false
        let (seconds, attoseconds) = spent.components
        metrics.message(action: MessageSession.name(verdict), nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return verdict
    }

    public func connect(hostname: String, address: String?, macros: MacroSource) -> Verdict {
        inner.connect(hostname: hostname, address: address, macros: macros)
    }

    public func mailFrom(_ sender: String, macros: MacroSource) -> Verdict {
        inMessage = true
        spent = .zero
        return answered(timed { inner.mailFrom(sender, macros: macros) })
    }

    public func recipient(_ recipient: String, macros: MacroSource) -> Verdict {
        answered(timed { inner.recipient(recipient, macros: macros) })
    }

    public func data(macros: MacroSource) -> Verdict {
        answered(timed { inner.data(macros: macros) })
    }

    public func header(name: String, value: UnsafeRawBufferPointer) -> Verdict {
        answered(timed { inner.header(name: name, value: value) })
    }

    public func body(_ chunk: UnsafeRawBufferPointer) -> Verdict {
        answered(timed { inner.body(chunk) })
    }

    public func endOfMessage(macros: MacroSource) -> (Verdict, [Modification]) {
        let (verdict, changes) = timed { inner.endOfMessage(macros: macros) }
        return (answered(verdict), changes)
    }

    public func abort() {
        inMessage = false
        inner.abort()
    }

    public func close() {
        inner.close()
    }
}
