import Foundation
import Synchronization
import Testing
import MailWardenCore

/// An admin's `top -H` or `ps -L` tells the daemon's threads apart (the bench's CPU by thread too).
@Suite struct NamedThreadTests {
    @Test func aThreadOfOurOwnHasItsNameInTheKernel() throws {
        let seen = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread(named: "write-behind-and-more") {
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            seen.withLock { $0 = comm }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        // The kernel keeps 15 bytes of a name.
        #expect(seen.withLock { $0 } == "write-behind-an\n")
    }
}
