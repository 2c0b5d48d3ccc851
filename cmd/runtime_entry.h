// berth-runtime's start-up before the C library (runtime_entry.cc): the command-line scan that
// decides whether the process re-executes from a read-only view of its own file. Plain C and
// freestanding, so that it can run from the ELF entry point and from an early constructor.
#pragma once

extern "C" {

// The first non-option argument ("run" in `berth-runtime --root R run ...`), or null when an
// option CLI11 must judge (--help, --version, an unknown one) comes first.
const char* BerthRuntimeCommandWord(int argc, char** argv);

// Whether `word` (may be null) names a command whose init execs inside a container: create,
// run, exec. Those run from a read-only view of the binary (runtime/linux/exe_seal.h).
bool BerthRuntimeCommandSeals(const char* word);
}
