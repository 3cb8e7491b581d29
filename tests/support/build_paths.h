// Where the source tree, build tree and third-party captures are. The absolute paths are
// compiled into ONE translation unit (build_paths.cpp), not into every test's command line, so
// that compiler caches hit when the checkout lives elsewhere (CI builds a fresh clone).
#pragma once

namespace wb::test {
const char* source_dir();
const char* binary_dir();
const char* testdata_dir();
}  // namespace wb::test

#define WB_SOURCE_DIR (::wb::test::source_dir())
#define WB_BINARY_DIR (::wb::test::binary_dir())
#define WB_TESTDATA_DIR (::wb::test::testdata_dir())
