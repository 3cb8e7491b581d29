// Gives the allocator's free pages back to the kernel. An allocator keeps what a program frees
// for its next allocations; after a burst (many sessions compacted at once: each frees ~35 KiB of
// OpenSSL state, agent/intercept/handoff_tracker.h) the process would otherwise keep its peak
// resident size for as long as it runs.
#pragma once

namespace wb {

// tcmalloc's MallocExtension_ReleaseFreeMemory() when the binary links tcmalloc (the wirebump
// binary does; tests and sanitizer builds use glibc), else glibc's malloc_trim(0). Takes the
// allocator's locks for a moment: call it from a thread that no session waits on.
void release_free_memory();

}  // namespace wb
