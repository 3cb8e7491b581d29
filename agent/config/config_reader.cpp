#include "agent/config/config_reader.h"

#include <algorithm>

namespace wb::config::detail {
namespace {

// Levenshtein distance, bounded: key names are short, and only distances <= 2 matter.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t replace = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, replace});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string join_key(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

Error Reader::error_at(const toml::source_region& where, std::string_view key,
                       std::string what) const {
  std::string text = source_;
  if (where.begin.line != 0) {
    text += ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
  }
  text += ": ";
  if (!key.empty()) text += std::string(key) + ": ";
  return make_error(std::errc::invalid_argument, text + what);
}

Result<std::string> Reader::string(const toml::node& node, std::string_view key) const {
  if (auto* s = node.as_string()) return s->get();
  return error_at(node, key, "expected a string, got " + std::string(type_name(node)));
}

Result<bool> Reader::boolean(const toml::node& node, std::string_view key) const {
  if (auto* b = node.as_boolean()) return b->get();
  return error_at(node, key, "expected true or false, got " + std::string(type_name(node)));
}

Result<std::int64_t> Reader::integer(const toml::node& node, std::string_view key, std::int64_t min,
                                     std::int64_t max) const {
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  auto* i = node.as_integer();
  if (i == nullptr) {
    return error_at(node, key,
                    "expected an integer in " + range + ", got " + std::string(type_name(node)));
  }
  if (i->get() < min || i->get() > max) {
    return error_at(node, key, std::to_string(i->get()) + " is out of range (" + range + ")");
  }
  return i->get();
}

Result<std::filesystem::path> Reader::path(const toml::node& node, std::string_view key,
                                           bool allow_empty) const {
  auto text = string(node, key);
  if (!text) return text.error();
  if (text->empty()) {
    if (allow_empty) return std::filesystem::path();
    return error_at(node, key, "expected an absolute path, got an empty string");
  }
  if (text->front() != '/') {
    return error_at(node, key, "expected an absolute path, got \"" + *text + "\"");
  }
  if (text->find('\0') != std::string::npos) return error_at(node, key, "NUL byte in path");
  return std::filesystem::path(*text);
}

Status Reader::array(const toml::node& node, std::string_view key, std::string_view what,
                     std::size_t max_items,
                     const std::function<Status(const toml::node&, std::size_t)>& element) const {
  auto* arr = node.as_array();
  if (arr == nullptr) {
    return error_at(
        node, key,
        "expected an array of " + std::string(what) + ", got " + std::string(type_name(node)));
  }
  if (arr->size() > max_items) {
    return error_at(node, key,
                    "too many entries (" + std::to_string(arr->size()) + ", at most " +
                        std::to_string(max_items) + ")");
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    WB_TRY(element(*arr->get(i), i));
  }
  return {};
}

Status Reader::walk(const toml::table& table, std::string_view prefix,
                    const std::map<std::string, Field, std::less<>>& fields) const {
  for (auto&& [k, value] : table) {
    const std::string name(k.str());
    auto it = fields.find(name);
    if (it == fields.end()) {
      std::string what = "unknown key";
      std::string best;
      std::size_t best_distance = 3;
      for (const auto& [known, handler] : fields) {
        auto d = edit_distance(name, known);
        if (d < best_distance) {
          best_distance = d;
          best = known;
        }
      }
      if (!best.empty()) what += " (did you mean \"" + join_key(prefix, best) + "\"?)";
      return error_at(k.source(), join_key(prefix, name), what);
    }
    WB_TRY(it->second(value, join_key(prefix, name)));
  }
  return {};
}

}  // namespace wb::config::detail
