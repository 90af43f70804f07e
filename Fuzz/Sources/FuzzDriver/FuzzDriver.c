#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "FuzzDriver.h"

// Defined by each fuzz target (in Swift, with @_cdecl) and by libFuzzer (linked by -sanitize=fuzzer).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

_Noreturn void mailwarden_fuzz_main(int argc, char **argv) {
    exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput));
}
