// Typed access to a parsed TOML tree with positions: every error names the file, line and column
// and the dotted key ("wirebump.toml:12:9: ports: expected an array of interface names").
// Internal to wb_config; only config.cpp includes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "agent/common/result.h"

namespace wb::config::detail {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Error error_at(const toml::source_region& where, std::string_view key, std::string what) const;
  Error error_at(const toml::node& node, std::string_view key, std::string what) const {
    return error_at(node.source(), key, std::move(what));
  }

  Result<std::string> string(const toml::node& node, std::string_view key) const;
  Result<bool> boolean(const toml::node& node, std::string_view key) const;
  Result<std::int64_t> integer(const toml::node& node, std::string_view key, std::int64_t min,
                               std::int64_t max) const;
  // An absolute path written as a string.
  Result<std::filesystem::path> path(const toml::node& node, std::string_view key,
                                     bool allow_empty) const;
  // One of a fixed set of strings.
  template <class Names>
  Result<std::string> choice(const toml::node& node, std::string_view key,
                             const Names& names) const;
  // An array whose elements are each checked by `element` (given element node and index).
  Status array(const toml::node& node, std::string_view key, std::string_view what,
               std::size_t max_items,
               const std::function<Status(const toml::node&, std::size_t)>& element) const;

  // Visits every key of `table`: known keys go to their handler, unknown keys are errors
  // (with a suggestion when a known key is one or two edits away).
  using Field = std::function<Status(const toml::node& value, const std::string& key)>;
  Status walk(const toml::table& table, std::string_view prefix,
              const std::map<std::string, Field, std::less<>>& fields) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

std::string_view type_name(const toml::node& node);
std::string join_key(std::string_view prefix, std::string_view key);

template <class Names>
Result<std::string> Reader::choice(const toml::node& node, std::string_view key,
                                   const Names& names) const {
  auto text = string(node, key);
  if (!text) return text.error();
  for (auto name : names) {
    if (name == *text) return text;
  }
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) {
    list += (i == 0 ? "\"" : (i + 1 == names.size() ? " or \"" : ", \"")) + std::string(names[i]) +
            "\"";
  }
  return error_at(node, key, "expected " + list + ", got \"" + *text + "\"");
}

}  // namespace wb::config::detail
