// The bridge's own classifier program run on captured frames (BPF_PROG_TEST_RUN through
// wb::datapath), on a private unpinned datapath configured like the bridge would be from the
// config file: interception switch, QUIC blocking, candidate ports, bypass CIDRs, and a
// listener registered so a SYN to a candidate port is judged as with the agent up. Dry-run mode:
// nothing is assigned or redirected, nothing is transmitted.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"
#include "agent/config/config.h"
#include "agent/datapath/datapath.h"

namespace wb::replay {

class KernelReplay {
 public:
  // Needs CAP_BPF (root): loads the programs into the running kernel.
  static Result<KernelReplay> open(const config::Config& cfg);

  // One Ethernet frame through the classifier.
  Result<datapath::Decision> classify(std::span<const std::uint8_t> ethernet_frame) const {
    return dp_.classify(ethernet_frame);
  }
  // Things worth telling the user (e.g. no IPv6 listener: v6 SYNs show as agent_down).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  explicit KernelReplay(datapath::Datapath dp) : dp_(std::move(dp)) {}
  datapath::Datapath dp_;
  UniqueFd listener_v4_, listener_v6_;
  std::vector<std::string> notes_;
};

}  // namespace wb::replay
