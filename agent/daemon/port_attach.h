// The classifier on the bridge ports: attached by the agent, recorded in the run directory so
// `wirebump down` can detach it (and delete a clsact qdisc only if wirebump created it) after
// the agent was killed.
//
// An agent restart does not reattach: when the port already runs the same program (same
// instructions, same pinned maps) it is left alone, so steering never blinks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/datapath/datapath.h"

namespace wb::daemon {

struct PortAttach {
  std::string name;
  int ifindex = 0;
  bool clsact_created = false;  // wirebump added the clsact qdisc: `down` deletes it
  bool xdp = false;             // an XDP program was attached
  bool operator==(const PortAttach&) const = default;
};

struct AttachRecord {
  std::string pin_dir;
  std::vector<PortAttach> ports;
  bool operator==(const AttachRecord&) const = default;
};

std::string to_json_text(const AttachRecord& record);
Result<AttachRecord> attach_record_from_json(const std::string& text);
Result<std::optional<AttachRecord>> load_attach_record(const std::string& path);
Status save_attach_record(const std::string& path, const AttachRecord& record);

struct PortToAttach {
  std::string name;
  int ifindex = 0;
};

struct AttachResult {
  int attached = 0;  // ports that got the program now
  int kept = 0;      // ports that already ran this very program (agent restart)
};

// Attaches TC (and XDP unless mode is off) on every port, recording as it goes in
// `record_path`; keeps the records of an earlier run with the same pin directory.
Result<AttachResult> attach_ports(datapath::Datapath& dp, const std::vector<PortToAttach>& ports,
                                  datapath::XdpMode xdp, const std::string& record_path);

// Detaches what the record says, deletes created clsact qdiscs, removes the record file.
// Ports that no longer exist are skipped. Best effort: the first error is returned.
Status detach_ports(const std::string& record_path);

}  // namespace wb::daemon
