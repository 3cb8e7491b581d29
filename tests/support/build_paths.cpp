#include "tests/support/build_paths.h"

namespace wb::test {
const char* source_dir() {
  return WB_SOURCE_DIR_VALUE;
}
const char* binary_dir() {
  return WB_BINARY_DIR_VALUE;
}
const char* testdata_dir() {
  return WB_TESTDATA_DIR_VALUE;
}
}  // namespace wb::test
