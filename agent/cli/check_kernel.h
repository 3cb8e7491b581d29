// `wirebump run --check-kernel`: probes every kernel capability the bridge needs, for real
// (loads programs, creates a clsact hook in a private network namespace, sets up a ring).
#pragma once

#include <string>
#include <vector>

namespace wb::cli {

struct Capability {
  std::string name;  // short id: "bpf", "bpffs", "btf", ...
  std::string what;  // what was tried
  bool ok = false;
  std::string detail;  // why it failed, or extra facts when it worked
};

// Runs every probe; never throws, never leaves anything behind.
std::vector<Capability> probe_kernel(const std::string& bpffs_path);

}  // namespace wb::cli
