#!/usr/bin/python3
"""unit-sandbox.py UNIT_FILE COMMAND [ARG...]: run COMMAND under the system-call filter its systemd
unit sets, as systemd would, without systemd as PID 1 (this machine and CI have none).

Applies SystemCallFilter= (groups expanded by `systemd-analyze syscall-filter`, assignments merged in
order as systemd.exec(5) says; the calls systemd always allows added), SystemCallErrorNumber= (absent:
the process is killed with SIGSYS, as systemd does) and MemoryDenyWriteExecute= (mmap of writable and
executable memory, and mprotect/pkey_mprotect adding PROT_EXEC, fail with EPERM). A call the unit
does not allow kills the command, so a test that runs the installed daemon through this fails where
the unit would. Needs Debian's python3-seccomp (hence /usr/bin/python3).
"""
import errno
import mmap
import os
import subprocess
import sys

import seccomp

# systemd.exec(5): allowed whatever the filter says.
ALWAYS_ALLOWED = ["execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn",
                  "clock_getres", "clock_gettime", "clock_nanosleep", "gettimeofday", "nanosleep", "time"]


def unit_settings(path):
    """The [Service] section's assignments, in order, as (key, value)."""
    settings, section = [], None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
            elif section == "Service" and "=" in line:
                key, value = line.split("=", 1)
                settings.append((key.strip(), value.strip()))
    return settings


_groups = {}


def expand(name):
    """A system call, or every call of a @group (nested groups expanded)."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                             check=True, capture_output=True, text=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            word = line.strip()
            if word and not word.startswith("#"):
                calls |= expand(word)
        _groups[name] = calls
    return _groups[name]


def syscall_filter(settings):
    """(mode, calls): mode "allow" or "deny", merged as systemd merges the assignments."""
    mode, calls = None, set()
    for key, value in settings:
        if key != "SystemCallFilter":
            continue
        if not value:
            mode, calls = None, set()
            continue
        negated = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word)
        if mode is None:
            mode, calls = ("deny", names) if negated else ("allow", names)
        elif (mode == "allow") != negated:
            calls |= names
        else:
            calls -= names
    return mode, calls


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: unit-sandbox.py UNIT_FILE COMMAND [ARG...]")
    settings = unit_settings(sys.argv[1])
    values = dict(settings)
    mode, calls = syscall_filter(settings)
    number = values.get("SystemCallErrorNumber")
    refused = seccomp.ERRNO(getattr(errno, number)) if number else seccomp.KILL_PROCESS

    known = set()
    for name in calls | set(ALWAYS_ALLOWED):
        try:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) != -1:  # -1: unknown to libseccomp
                known.add(name)
        except (ValueError, RuntimeError):
            pass  # not a call of this architecture
    # Under MemoryDenyWriteExecute these calls are allowed or refused by their protection argument
    # (libseccomp would let an unconditional rule for the call override the conditional ones).
    guarded = {"mmap", "mprotect", "pkey_mprotect"} if values.get("MemoryDenyWriteExecute") == "yes" else set()
    if mode == "allow":
        f = seccomp.SyscallFilter(defaction=refused)
        for name in sorted(known - guarded):
            f.add_rule(seccomp.ALLOW, name)
    else:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in sorted(known - set(ALWAYS_ALLOWED) - guarded):
            f.add_rule(refused, name)
    eperm = seccomp.ERRNO(errno.EPERM)
    both = mmap.PROT_WRITE | mmap.PROT_EXEC
    for name in sorted(guarded):
        # mmap: refused when writable and executable; mprotect, pkey_mprotect: when adding PROT_EXEC.
        mask, allowed = (both, (0, mmap.PROT_WRITE, mmap.PROT_EXEC)) if name == "mmap" else (mmap.PROT_EXEC, (0,))
        if mode != "allow" or name in known:
            for value in allowed:
                f.add_rule(seccomp.ALLOW, name, seccomp.Arg(2, seccomp.MASKED_EQ, mask, value))
        f.add_rule(eperm, name, seccomp.Arg(2, seccomp.MASKED_EQ, mask, mask))

    f.load()
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
