#include "inspectors/http/alt_svc.h"

#include "inspectors/parse.h"

namespace wb::http {
namespace {

using inspect::trim;

bool is_quic_protocol(std::string_view entry) {
  std::string_view id = trim(entry.substr(0, entry.find('=')));
  return id == "h3" || id.substr(0, 3) == "h3-" || id.substr(0, 4) == "quic" || id == "h3Q";
}

// Calls fn(entry) for each entry of an Alt-Svc value: commas inside quoted strings do not split
// ("h2=\":443\"; ma=60, h3=\":443\"").
template <class Fn>
void for_each_entry(std::string_view value, Fn&& fn) {
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size() && value[i] == '"') quoted = !quoted;
    if (i < value.size() && (value[i] != ',' || quoted)) continue;
    std::string_view entry = trim(value.substr(start, i - start));
    start = i + 1;
    if (!entry.empty()) fn(entry);
  }
}

}  // namespace

std::string strip_h3(std::string_view value) {
  if (trim(value) == "clear") return "clear";
  std::string out;
  for_each_entry(value, [&](std::string_view entry) {
    if (is_quic_protocol(entry)) return;
    if (!out.empty()) out += ", ";
    out += entry;
  });
  return out;
}

bool advertises_h3(std::string_view value) {
  bool found = false;
  for_each_entry(value, [&](std::string_view entry) { found = found || is_quic_protocol(entry); });
  return found;
}

int rewrite_head_without_h3(std::string_view head, std::string& out) {
  out.clear();
  out.reserve(head.size());
  int changed = 0;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    std::size_t next = end == std::string_view::npos ? head.size() : end + 2;
    std::string_view line = head.substr(pos, next - pos);
    pos = next;
    if (inspect::istarts_with(line, "alt-svc:")) {
      std::string_view value = trim(line.substr(8));
      if (advertises_h3(value)) {
        std::string kept = strip_h3(value);
        ++changed;
        if (!kept.empty()) out += "Alt-Svc: " + kept + "\r\n";
        continue;
      }
    }
    out += line;
  }
  return changed;
}

}  // namespace wb::http
