// Becoming the store's owner before opening it. An admin runs this CLI as root, the daemon runs as
// `mailwarden`. SQLite already gives the -wal and -shm files it makes as root to the database's
// owner, but not the files the CLI makes itself: the store that `ingest --mbox` creates on a new
// server, a `backup`. A root-owned store locks the daemon out of its own data. So, like Postfix's
// postsuper and postqueue, the CLI drops root for the owner of the store's directory (its uid, its
// gid, no other groups) before it opens anything there. Not root, or a directory owned by root:
// nothing changes. A failed switch ends the command rather than go on as root.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

enum StoreOwner {
    /// When running as root, switch for good to the user and group owning the directory of
    /// `storePath`, unless root owns it. A missing directory changes nothing (opening fails later).
    static func become(forStoreAt storePath: String) throws {
        guard geteuid() == 0 else { return }
        let directory = (storePath as NSString).deletingLastPathComponent
        var owner = stat()
        guard stat(directory.isEmpty ? "." : directory, &owner) == 0, owner.st_uid != 0 else { return }
        var group = owner.st_gid
        // Groups first: after setuid we could no longer change them.
        guard setgroups(1, &group) == 0, setgid(owner.st_gid) == 0, setuid(owner.st_uid) == 0 else {
            let reason = String(cString: strerror(errno))
            throw CLIFailure("cannot switch to uid \(owner.st_uid) gid \(owner.st_gid), the owner of \(directory), before opening the store: \(reason)")
        }
    }
}
