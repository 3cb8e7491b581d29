#include "certs/revocation_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <optional>

#include "certs/ossl.h"
#include "certs/state_files.h"

namespace wb::certs {
namespace {

constexpr std::int64_t kForgetExpiredAfter = 24 * 3600;

struct JournalLine {
  bool revoked;
  std::string serial;
  std::int64_t time;
};

std::optional<JournalLine> parse_line(std::string_view line) {
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
  std::string_view kind = line.substr(0, sp1);
  if (kind != "issued" && kind != "revoked") return std::nullopt;
  auto serial = normalize_serial(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (!serial.ok()) return std::nullopt;
  std::string_view num = line.substr(sp2 + 1);
  std::int64_t t = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), t);
  if (ec != std::errc() || end != num.data() + num.size()) return std::nullopt;
  return JournalLine{kind == "revoked", std::move(serial).value(), t};
}

}  // namespace

std::unique_ptr<RevocationStore> RevocationStore::in_memory() {
  return std::unique_ptr<RevocationStore>(new RevocationStore());
}

Result<std::unique_ptr<RevocationStore>> RevocationStore::open(const std::filesystem::path& journal,
                                                               std::int64_t now) {
  std::unique_ptr<RevocationStore> store(new RevocationStore());
  store->fd_ =
      UniqueFd(::open(journal.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!store->fd_) return errno_error("open revocation journal " + journal.string());
  WB_TRY_ASSIGN(std::string text, read_small_file(journal, std::size_t{1} << 30));
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // torn last line of a crash: ignored
    auto line = parse_line(std::string_view(text).substr(pos, nl - pos));
    if (!line) {
      return make_error(std::errc::invalid_argument,
                        journal.string() + " line " + std::to_string(line_no) + ": malformed");
    }
    SerialStatus& s = store->serials_[line->serial];
    if (line->revoked) {
      if (s.status != CertStatus::revoked) s.revoked_at = line->time;
      s.status = CertStatus::revoked;
    } else {
      if (s.status == CertStatus::unknown) s.status = CertStatus::good;
      s.not_after = line->time;
    }
    pos = nl + 1;
  }
  if (pos < text.size()) {
    // Cut the torn line so the next append starts on a line of its own.
    if (ftruncate(store->fd_.get(), static_cast<off_t>(pos)) != 0) {
      return errno_error("truncate torn line of " + journal.string());
    }
  }
  store->prune(now);
  return store;
}

bool RevocationStore::record_issued(const std::string& serial, std::int64_t not_after) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = serials_.try_emplace(serial);
  if (!inserted) return false;
  it->second.status = CertStatus::good;
  it->second.not_after = not_after;
  if (fd_) pending_ += "issued " + serial + " " + std::to_string(not_after) + "\n";
  return true;
}

Status RevocationStore::revoke(std::string_view text, std::int64_t now) {
  WB_TRY_ASSIGN(std::string serial, normalize_serial(text));
  std::lock_guard lock(mu_);
  auto it = serials_.find(serial);
  if (it == serials_.end()) {
    return make_error(std::errc::no_such_file_or_directory,
                      "serial " + serial + " was not issued by this issuer");
  }
  if (it->second.status == CertStatus::revoked) return {};
  // Journal first (with the pending issued lines before it), memory after: a revocation the
  // operator was told about survives a crash.
  WB_TRY(append_locked(pending_ + "revoked " + serial + " " + std::to_string(now) + "\n", true));
  pending_.clear();
  it->second.status = CertStatus::revoked;
  it->second.revoked_at = now;
  ++generation_;
  return {};
}

SerialStatus RevocationStore::status(std::string_view serial) const {
  std::lock_guard lock(mu_);
  auto it = serials_.find(std::string(serial));
  return it == serials_.end() ? SerialStatus{} : it->second;
}

bool RevocationStore::knows(std::string_view serial) const {
  return status(serial).status != CertStatus::unknown;
}

std::vector<RevokedSerial> RevocationStore::revoked() const {
  std::lock_guard lock(mu_);
  std::vector<RevokedSerial> out;
  for (const auto& [serial, s] : serials_) {
    if (s.status == CertStatus::revoked) out.push_back({serial, s.revoked_at});
  }
  return out;
}

std::uint64_t RevocationStore::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::size_t RevocationStore::issued_count() const {
  std::lock_guard lock(mu_);
  return serials_.size();
}

std::size_t RevocationStore::prune(std::int64_t now) {
  std::lock_guard lock(mu_);
  return std::erase_if(serials_, [&](const auto& kv) {
    return kv.second.not_after != 0 && kv.second.not_after + kForgetExpiredAfter < now;
  });
}

Status RevocationStore::flush() {
  std::lock_guard lock(mu_);
  if (pending_.empty()) return {};
  WB_TRY(append_locked(pending_, false));
  pending_.clear();
  return {};
}

Status RevocationStore::append_locked(const std::string& text, bool sync) {
  if (!fd_) return {};
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd_.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("append to revocation journal");
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync && fdatasync(fd_.get()) != 0) return errno_error("sync revocation journal");
  return {};
}

}  // namespace wb::certs
