#include "agent/common/memory_release.h"

#include <malloc.h>

// Declared weak: resolved only when tcmalloc (gperftools) is linked in; null otherwise.
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace wb {

void release_free_memory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    (void)malloc_trim(0);
  }
}

}  // namespace wb
