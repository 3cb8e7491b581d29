#include "agent/cli/check_kernel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <liburing.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "agent/common/unique_fd.h"

namespace wb::cli {
namespace {

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

Capability probe_prog_type(const char* name, bpf_prog_type type, const char* what) {
  Capability cap{name, what};
  int rc = libbpf_probe_bpf_prog_type(type, nullptr);
  cap.ok = rc == 1;
  if (!cap.ok) cap.detail = rc == 0 ? "not supported by this kernel" : errno_text(rc);
  return cap;
}

Capability probe_helper(const char* name, bpf_prog_type type, bpf_func_id helper,
                        const char* what) {
  Capability cap{name, what};
  int rc = libbpf_probe_bpf_helper(type, helper, nullptr);
  cap.ok = rc == 1;
  if (!cap.ok) cap.detail = rc == 0 ? "helper not available" : errno_text(rc);
  return cap;
}

Capability probe_bpffs(const std::string& path) {
  Capability cap{"bpffs", "bpf filesystem mounted at " + path};
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) {
    cap.detail = errno_text(errno) + " (mount -t bpf bpf " + path + ")";
  } else if (st.f_type != BPF_FS_MAGIC) {
    cap.detail = "not a bpf filesystem (mount -t bpf bpf " + path + ")";
  } else {
    cap.ok = true;
  }
  return cap;
}

Capability probe_btf() {
  Capability cap{"btf", "kernel BTF at /sys/kernel/btf/vmlinux"};
  struct btf* btf = btf__load_vmlinux_btf();
  int err = libbpf_get_error(btf);
  if (err != 0 || btf == nullptr) {
    cap.detail = "cannot load vmlinux BTF: " + errno_text(err) + " (kernel needs DEBUG_INFO_BTF)";
    return cap;
  }
  cap.ok = true;
  cap.detail = std::to_string(btf__type_cnt(btf)) + " types";
  btf__free(btf);
  return cap;
}

// Creates a clsact qdisc and attaches a real cls_bpf program on lo of a private network
// namespace, entered by a short-lived thread so the caller's namespace is never touched.
Capability probe_clsact() {
  Capability cap{"clsact", "clsact qdisc + cls_bpf direct-action attach (private netns)"};
  std::thread worker([&cap] {
    if (unshare(CLONE_NEWNET) != 0) {
      cap.detail = "unshare(CLONE_NEWNET): " + errno_text(errno);
      return;
    }
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = TC_ACT_OK
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "wb_probe", "GPL", insns, 2, nullptr));
    if (!prog) {
      cap.detail = "load SCHED_CLS program: " + errno_text(errno);
      return;
    }
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
    if (int rc = bpf_tc_hook_create(&hook); rc != 0 && rc != -EEXIST) {
      cap.detail = "create clsact on lo: " + errno_text(rc) + " (kernel needs NET_SCH_INGRESS)";
      return;
    }
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog.get());
    if (int rc = bpf_tc_attach(&hook, &opts); rc != 0) {
      cap.detail = "attach cls_bpf: " + errno_text(rc) + " (kernel needs NET_CLS_BPF)";
      return;
    }
    cap.ok = true;  // the namespace and everything in it vanish with this thread
  });
  worker.join();
  return cap;
}

Capability probe_io_uring() {
  Capability cap{"io_uring", "io_uring ring with accept, recv, send, connect, cancel, timeouts"};
  io_uring ring{};
  if (int rc = io_uring_queue_init(8, &ring, 0); rc != 0) {
    cap.detail = "io_uring_queue_init: " + errno_text(rc) +
                 (rc == -EPERM ? " (check sysctl kernel.io_uring_disabled)" : "");
    return cap;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    cap.detail = "io_uring probe not supported";
  } else {
    static constexpr std::pair<int, const char*> kOps[] = {
        {IORING_OP_ACCEPT, "accept"},
        {IORING_OP_RECV, "recv"},
        {IORING_OP_SEND, "send"},
        {IORING_OP_CONNECT, "connect"},
        {IORING_OP_ASYNC_CANCEL, "cancel"},
        {IORING_OP_LINK_TIMEOUT, "link_timeout"},
        {IORING_OP_PROVIDE_BUFFERS, "provide_buffers"},
    };
    std::string missing;
    for (const auto& [op, name] : kOps) {
      if (!io_uring_opcode_supported(probe, op))
        missing += std::string(missing.empty() ? "" : ", ") + name;
    }
    cap.ok = missing.empty();
    if (!cap.ok) cap.detail = "missing ops: " + missing;
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return cap;
}

Capability probe_transparent() {
  Capability cap{"transparent", "IP_TRANSPARENT sockets (IPv4 and IPv6)"};
  for (int family : {AF_INET, AF_INET6}) {
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
      cap.detail = "socket: " + errno_text(errno);
      return cap;
    }
    int one = 1;
    int level = family == AF_INET ? SOL_IP : SOL_IPV6;
    int opt = family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT;
    if (setsockopt(fd.get(), level, opt, &one, sizeof(one)) != 0) {
      cap.detail = std::string(family == AF_INET ? "IP" : "IPV6") +
                   "_TRANSPARENT: " + errno_text(errno) + " (needs CAP_NET_ADMIN)";
      return cap;
    }
  }
  cap.ok = true;
  return cap;
}

}  // namespace

std::vector<Capability> probe_kernel(const std::string& bpffs_path) {
  // libbpf prints its own diagnostics for failed probes; the capability line says it better.
  auto previous = libbpf_set_print(nullptr);
  std::vector<Capability> caps;
  caps.push_back(probe_prog_type("bpf", BPF_PROG_TYPE_SCHED_CLS, "bpf() loads SCHED_CLS programs"));
  caps.push_back(probe_prog_type("xdp", BPF_PROG_TYPE_XDP, "bpf() loads XDP programs"));
  caps.push_back(probe_helper("sk_assign", BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_sk_assign,
                              "bpf_sk_assign helper for steering"));
  caps.push_back(probe_bpffs(bpffs_path));
  caps.push_back(probe_btf());
  caps.push_back(probe_clsact());
  caps.push_back(probe_io_uring());
  caps.push_back(probe_transparent());
  libbpf_set_print(previous);
  return caps;
}

}  // namespace wb::cli
