// Human output for the CLI: aligned columns, byte/duration/time formatting, and tolerant reads
// of result fields (a field the agent does not send shows as "-", never a crash).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace wb::cli {

// Columns separated by two spaces; numeric columns (all cells numbers or "-") right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "1.5 KiB", "12 B", "3.2 GiB".
std::string human_bytes(std::uint64_t bytes);
// "45s", "3m07s", "2h05m", "3d04h".
std::string human_duration(std::int64_t seconds);
// A time field: ISO-8601 UTC string ("2026-11-21T00:00:00Z", fractions allowed) or unix seconds.
// Returns unix seconds, or -1 when absent or unreadable.
std::int64_t unix_time(const nlohmann::json& value);
// "2026-11-21 00:00:00 UTC".
std::string format_utc(std::int64_t unix_seconds);

// Field readers: the value as text ("-" when absent/null), a number (0 when absent), a bool.
std::string text(const nlohmann::json& object, std::string_view key);
std::uint64_t number(const nlohmann::json& object, std::string_view key);
bool flag(const nlohmann::json& object, std::string_view key, bool fallback = false);
// The array at key, or an empty array.
const nlohmann::json& list(const nlohmann::json& object, std::string_view key);

// "on"/"off".
inline const char* on_off(bool value) {
  return value ? "on" : "off";
}

}  // namespace wb::cli
