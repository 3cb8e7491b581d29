// Every serial an issuer signed, and the revoked ones, persisted as an append-only journal in the
// state dir (<state>/revocation/<issuer-id>.journal, mode 0600). Forging records serials in memory
// (no I/O on the forging path); flush() appends them, revoke() appends and fsyncs at once.
//
// Journal lines:  "issued <SERIAL> <not_after>\n"  "revoked <SERIAL> <revoked_at>\n"
// (serials canonical upper-case hex, times in seconds since the epoch). A torn last line (crash
// while appending) is ignored; any other malformed line is an error naming the line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::certs {

enum class CertStatus : std::uint8_t { unknown, good, revoked };

struct SerialStatus {
  CertStatus status = CertStatus::unknown;
  std::int64_t revoked_at = 0;  // for revoked
  std::int64_t not_after = 0;   // for good and revoked
};

struct RevokedSerial {
  std::string serial;  // canonical hex
  std::int64_t revoked_at;
};

class RevocationStore {
 public:
  // Opens (creating 0600) and replays the journal. Entries whose certificate expired more than a
  // day ago are dropped from memory (they can no longer be presented to anyone).
  static Result<std::unique_ptr<RevocationStore>> open(const std::filesystem::path& journal,
                                                       std::int64_t now);
  // Memory only (tests, fuzzers, ephemeral keyrings).
  static std::unique_ptr<RevocationStore> in_memory();

  // Records a newly signed serial; false if it was already known (caller draws another serial).
  bool record_issued(const std::string& serial, std::int64_t not_after);
  // Revokes an issued serial (any spelling normalize_serial accepts); errors: malformed serial,
  // serial never issued by this issuer, journal write failed. Revoking twice keeps the first time.
  Status revoke(std::string_view serial, std::int64_t now);
  SerialStatus status(std::string_view canonical_serial) const;
  bool knows(std::string_view canonical_serial) const;
  std::vector<RevokedSerial> revoked() const;
  // Increments on every revocation (staple caches compare it).
  std::uint64_t generation() const;
  std::size_t issued_count() const;
  // Appends serials issued since the last flush.
  Status flush();
  // Forgets serials whose certificate expired more than a day ago (memory stays bounded by the
  // certificates that can still be presented); returns how many. The journal keeps them until
  // the next open() drops them.
  std::size_t prune(std::int64_t now);

 private:
  RevocationStore() = default;
  Status append_locked(const std::string& text, bool sync);

  mutable std::mutex mu_;
  std::unordered_map<std::string, SerialStatus> serials_;
  std::string pending_;  // journal lines not yet written
  std::uint64_t generation_ = 0;
  UniqueFd fd_;  // invalid for in-memory stores
};

}  // namespace wb::certs
