#include "agent/daemon/port_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "agent/common/log.h"
#include "agent/common/unique_fd.h"
#include "agent/netsetup/state_file.h"

namespace wb::daemon {
namespace {

struct ProgInfo {
  std::array<std::uint8_t, BPF_TAG_SIZE> tag{};
  std::vector<__u32> map_ids;
};

Result<ProgInfo> prog_info(int fd, const std::string& what) {
  ProgInfo out;
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return errno_error("inspect " + what);
  out.map_ids.resize(info.nr_map_ids);
  std::memcpy(out.tag.data(), info.tag, out.tag.size());
  if (!out.map_ids.empty()) {
    bpf_prog_info again{};
    again.nr_map_ids = static_cast<__u32>(out.map_ids.size());
    again.map_ids = reinterpret_cast<__u64>(out.map_ids.data());
    len = sizeof(again);
    if (bpf_obj_get_info_by_fd(fd, &again, &len) != 0) return errno_error("inspect " + what);
    out.map_ids.resize(std::min<std::size_t>(again.nr_map_ids, out.map_ids.size()));
  }
  return out;
}

// Same instructions (tag) and using the pinned config map of this pin set: then the attached
// program is exactly what a reattach would install.
Result<bool> runs_same_program(const datapath::Datapath& dp, unsigned attached_id) {
  UniqueFd attached(bpf_prog_get_fd_by_id(attached_id));
  if (!attached) return errno_error("open attached program " + std::to_string(attached_id));
  WB_TRY_ASSIGN(ProgInfo theirs, prog_info(attached.get(), "attached program"));
  WB_TRY_ASSIGN(ProgInfo ours, prog_info(dp.classifier_fd(), "loaded classifier"));
  if (theirs.tag != ours.tag) return false;
  const std::string config_pin = dp.pin_dir() + "/" + WB_MAP_CONFIG;
  UniqueFd config(bpf_obj_get(config_pin.c_str()));
  if (!config) return errno_error("open " + config_pin);
  bpf_map_info map{};
  __u32 len = sizeof(map);
  if (bpf_obj_get_info_by_fd(config.get(), &map, &len) != 0)
    return errno_error("inspect " + config_pin);
  return std::find(theirs.map_ids.begin(), theirs.map_ids.end(), map.id) != theirs.map_ids.end();
}

PortAttach* find_port(AttachRecord& record, const std::string& name) {
  for (auto& port : record.ports) {
    if (port.name == name) return &port;
  }
  return nullptr;
}

}  // namespace

std::string to_json_text(const AttachRecord& record) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : record.ports) {
    ports.push_back({{"name", p.name},
                     {"ifindex", p.ifindex},
                     {"clsact_created", p.clsact_created},
                     {"xdp", p.xdp}});
  }
  return nlohmann::json{{"pin_dir", record.pin_dir}, {"ports", ports}}.dump(2) + "\n";
}

Result<AttachRecord> attach_record_from_json(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    AttachRecord record;
    record.pin_dir = j.at("pin_dir").get<std::string>();
    for (const auto& p : j.at("ports")) {
      record.ports.push_back(PortAttach{p.at("name").get<std::string>(), p.at("ifindex").get<int>(),
                                        p.at("clsact_created").get<bool>(),
                                        p.at("xdp").get<bool>()});
    }
    return record;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::errc::invalid_argument, std::string("parse attach record: ") + e.what());
  }
}

Result<std::optional<AttachRecord>> load_attach_record(const std::string& path) {
  WB_TRY_ASSIGN(auto text, netsetup::read_state_file(path));
  if (!text) return std::optional<AttachRecord>{};
  auto record = attach_record_from_json(*text);
  if (!record.ok()) return record.error().wrap(path);
  return std::optional<AttachRecord>{std::move(record).value()};
}

Status save_attach_record(const std::string& path, const AttachRecord& record) {
  return netsetup::write_file_atomic(path, to_json_text(record));
}

Result<AttachResult> attach_ports(datapath::Datapath& dp, const std::vector<PortToAttach>& ports,
                                  datapath::XdpMode xdp, const std::string& record_path) {
  AttachRecord record;
  WB_TRY_ASSIGN(auto previous, load_attach_record(record_path));
  if (previous && previous->pin_dir == dp.pin_dir()) record = *previous;
  record.pin_dir = dp.pin_dir();
  AttachResult result;
  for (const auto& port : ports) {
    PortAttach* entry = find_port(record, port.name);
    if (entry == nullptr || entry->ifindex != port.ifindex) {
      if (entry == nullptr) {
        record.ports.push_back(PortAttach{port.name, port.ifindex});
        entry = &record.ports.back();
      }
      *entry = PortAttach{port.name, port.ifindex};
    }
    WB_TRY_ASSIGN(unsigned current, datapath::Datapath::attached_tc_program(port.ifindex));
    bool keep = false;
    if (current != 0) {
      WB_TRY_ASSIGN(keep, runs_same_program(dp, current));
    }
    if (keep) {
      ++result.kept;
    } else {
      auto created = dp.attach_tc(port.ifindex);
      if (!created.ok()) return created.error().wrap("port " + port.name);
      entry->clsact_created = entry->clsact_created || *created;
      ++result.attached;
    }
    WB_TRY(save_attach_record(record_path, record));
    if (xdp != datapath::XdpMode::off) {
      entry->xdp = true;
      WB_TRY(save_attach_record(record_path, record));
      // Two ports: each one's fast path redirects bypassed frames straight to the other.
      int peer = 0;
      if (ports.size() == 2) peer = (&port == &ports[0] ? ports[1] : ports[0]).ifindex;
      auto attached = dp.attach_xdp(port.ifindex, xdp, peer);
      if (!attached.ok()) return attached.error().wrap("port " + port.name);
    }
  }
  return result;
}

Status detach_ports(const std::string& record_path) {
  WB_TRY_ASSIGN(auto record, load_attach_record(record_path));
  if (!record) return {};
  Status first;
  auto keep_first = [&first](Status status) {
    if (!status.ok()) spdlog::warn("detach: {}", status.error().message());
    if (first.ok() && !status.ok()) first = std::move(status);
  };
  for (const auto& port : record->ports) {
    // The interface may have been deleted (with its filters) or renumbered since.
    if (static_cast<int>(if_nametoindex(port.name.c_str())) != port.ifindex) continue;
    keep_first(datapath::Datapath::detach_tc(port.ifindex));
    if (port.xdp) keep_first(datapath::Datapath::detach_xdp(port.ifindex));
    if (port.clsact_created) keep_first(datapath::Datapath::remove_clsact(port.ifindex));
  }
  if (!first.ok()) return first;
  return netsetup::remove_state_file(record_path);
}

}  // namespace wb::daemon
