#pragma once
// What a shim keeps resident while it waits for its container. A shim lives as long as its
// container, one per container, so its steady-state memory is the engine's per-container cost
// (the target: well under 1 MiB VmRSS).

struct epoll_event;

namespace berth::shim {

// Gives back what setup touched and the waiting loop will not touch again: free heap
// (malloc_trim), the stack below the caller's frame, and every clean file-backed page
// (the binary's text and read-only data: the page cache keeps them, a later use costs a minor
// fault). Call it from the loop, between two waits.
void TrimResidentPages();

// epoll_wait(2) for the loop. After TrimResidentPages every page of text the loop executes is
// faulted back with its 64 KiB fault-around window; the libc wrapper (and its cancellation
// helpers) would pull in windows of their own, so this issues the system call itself and sits
// in the same hot text section as the loop and the trim. Returns -errno on failure.
int WaitEvents(int epoll_fd, struct epoll_event* events, int max_events, int timeout_ms);

}  // namespace berth::shim
