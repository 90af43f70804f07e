// Threads of our own under the names the OS shows (top -H, ps -L, /proc/PID/task/*/comm): on Linux
// Foundation keeps Thread.name to itself, so every thread showed as the process.
import Foundation

extension Thread {
    /// Starts `body` on a thread of its own called `name` (the kernel keeps its first 15 bytes).
    public static func detachNewThread(named name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            nameCurrentThread(name)
            body()
        }
        thread.start()
    }
}

/// /proc/thread-self/comm (Linux 3.17+): glibc's pthread_setname_np is not visible to Swift. A
/// thread that cannot be named keeps the process's name. Close-on-exec: a parser process spawned by
/// another thread meanwhile must inherit nothing of ours.
private func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = write(fd, bytes, bytes.count)
}
