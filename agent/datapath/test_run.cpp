// One frame through the loaded programs themselves (BPF_PROG_TEST_RUN): the classifier for
// `wirebump replay`, the tests and the per-packet cost, the XDP program for its tests. Nothing
// is transmitted; map side effects (flows, counters) are real.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "agent/datapath/datapath.h"
#include "agent/datapath/datapath_impl.h"
#include "xdp.skel.h"

namespace wb::datapath {
namespace {

struct TestRun {
  int retval = 0;
  __u32 cb0 = 0;
  __u32 mark = 0;
  __u32 duration_ns = 0;
};

Result<TestRun> run_tc(int prog_fd, std::span<const std::uint8_t> frame, int ifindex,
                       std::uint32_t repeat) {
  if (frame.size() < 14)
    return make_error(std::errc::invalid_argument, "frame shorter than an Ethernet header");
  __sk_buff ctx_in{};
  __sk_buff ctx_out{};
  ctx_in.ifindex = static_cast<__u32>(ifindex);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx_in,
              .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx_in), .ctx_size_out = sizeof(ctx_out),
              .repeat = static_cast<int>(repeat));
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts)) return bpf_error(err, "BPF_PROG_TEST_RUN");
  return TestRun{static_cast<int>(opts.retval), ctx_out.cb[0], ctx_out.mark, opts.duration};
}

}  // namespace

Result<Decision> Datapath::classify(std::span<const std::uint8_t> frame, int ifindex) const {
  WB_TRY_ASSIGN(TestRun run, run_tc(classifier_fd(), frame, ifindex, 1));
  if ((run.cb0 & WB_DECISION_TAG_MASK) != WB_DECISION_TAG)
    return make_error(std::errc::protocol_error, "classifier left no decision");
  Decision d;
  d.verdict = static_cast<wb_verdict>(run.cb0 & 0xff);
  d.reason = static_cast<wb_reason>((run.cb0 >> 8) & 0xff);
  d.flow_class = static_cast<wb_flow_class>((run.cb0 >> 16) & 0xff);
  d.tc_action = run.retval;
  d.mark = run.mark;
  return d;
}

Result<double> Datapath::measure_ns_per_packet(std::span<const std::uint8_t> frame,
                                               std::uint32_t repeat) const {
  if (repeat == 0) return make_error(std::errc::invalid_argument, "repeat 0");
  WB_TRY_ASSIGN(TestRun run, run_tc(classifier_fd(), frame, 0, repeat));
  return static_cast<double>(run.duration_ns);  // the kernel reports the mean per run
}

Result<int> Datapath::run_xdp(std::span<const std::uint8_t> frame, int ingress_ifindex) const {
  if (frame.size() < 14)
    return make_error(std::errc::invalid_argument, "frame shorter than an Ethernet header");
  // The kernel wants data_end = the frame's size; ingress_ifindex must name a device of the
  // calling thread's network namespace (0: the kernel takes that namespace's loopback).
  xdp_md ctx{};
  ctx.data_end = static_cast<__u32>(frame.size());
  ctx.ingress_ifindex = static_cast<__u32>(ingress_ifindex);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1);
  int fd = bpf_program__fd(impl_->xdp->progs.wb_xdp);
  if (int err = bpf_prog_test_run_opts(fd, &opts)) return bpf_error(err, "BPF_PROG_TEST_RUN (xdp)");
  return static_cast<int>(opts.retval);
}

}  // namespace wb::datapath
