// libFuzzer's driver, started from a Swift executable's own `main`: SwiftPM links every executable
// target with a `main` of its own, so libFuzzer's `main` cannot be used.
#ifndef MAILWARDEN_FUZZ_DRIVER_H
#define MAILWARDEN_FUZZ_DRIVER_H

/// Runs libFuzzer (its command line in argc/argv) on the target's LLVMFuzzerTestOneInput and exits with its status.
_Noreturn void mailwarden_fuzz_main(int argc, char **argv);

#endif
