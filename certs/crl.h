// The CRL of one issuer: DER, signed by the issuer, thisUpdate/nextUpdate 30 days apart, a CRL
// number that increments on every regeneration (persisted in <state>/revocation/<id>.crlnumber),
// regenerated when due (a quarter of its lifetime before nextUpdate, or after a revocation).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "agent/common/result.h"
#include "certs/keyring.h"
#include "certs/ossl.h"
#include "certs/revocation_store.h"

namespace wb::certs {

struct CrlTiming {
  std::chrono::seconds validity{std::chrono::hours(24 * 30)};
  // Regenerate once this much time has passed since thisUpdate (well before nextUpdate).
  std::chrono::seconds refresh_after{std::chrono::hours(24 * 7)};
};

// Builds and signs a CRL listing `revoked` (pure, no I/O).
Result<Bytes> build_crl(const Keyring& issuer, const std::vector<RevokedSerial>& revoked,
                        std::uint64_t crl_number, std::int64_t this_update,
                        std::chrono::seconds validity);

class CrlPublisher {
 public:
  // number_file empty: the number lives in memory only. Generates the first CRL immediately.
  static Result<std::unique_ptr<CrlPublisher>> open(const Keyring& issuer,
                                                    const RevocationStore& store,
                                                    std::filesystem::path number_file,
                                                    CrlTiming timing, std::int64_t now);
  // Builds the next CRL (number + 1), persists the number, then publishes it.
  Status regenerate(std::int64_t now);
  // True when refresh_after passed since thisUpdate or a revocation happened since.
  bool due(std::int64_t now) const;
  std::shared_ptr<const Bytes> der() const;
  std::uint64_t number() const;
  std::int64_t this_update() const;

 private:
  CrlPublisher(const Keyring& issuer, const RevocationStore& store, std::filesystem::path file,
               CrlTiming timing)
      : issuer_(issuer), store_(store), number_file_(std::move(file)), timing_(timing) {}

  const Keyring& issuer_;
  const RevocationStore& store_;
  std::filesystem::path number_file_;
  CrlTiming timing_;
  mutable std::mutex mu_;
  std::shared_ptr<const Bytes> der_;
  std::uint64_t number_ = 0;
  std::int64_t this_update_ = 0;
  std::uint64_t store_generation_ = 0;
};

}  // namespace wb::certs
