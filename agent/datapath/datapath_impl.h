// Internals shared by the datapath's translation units (not part of the API).
#pragma once

#include <bpf/libbpf.h>

#include <string>

#include "agent/datapath/datapath.h"

struct wb_classifier;
struct wb_xdp;

namespace wb::datapath {

struct Datapath::Impl {
  std::string pin_dir;  // empty: unpinned
  wb_classifier* classifier = nullptr;
  wb_xdp* xdp = nullptr;
  bpf_link* sk_lookup_link = nullptr;  // attach_sk_lookup(); pinned
  ~Impl();

  // fd of a map by name (WB_MAP_*), from the classifier object; -1 if unknown.
  int map_fd(const char* name) const;
};

// DEVMAP entry: frames XDP fast-paths from in_ifindex leave through out_ifindex (resolved in
// the calling thread's network namespace).
Status set_xdp_peer(const Datapath::Impl& impl, int in_ifindex, int out_ifindex);

// libbpf returns -errno; turns that into an Error with context.
inline Error bpf_error(int ret, std::string context) {
  return errno_error(ret < 0 ? -ret : (errno ? errno : EIO), std::move(context));
}

}  // namespace wb::datapath
