// Forged-certificate keys: a small pool of ECDSA P-256 and RSA-2048 keys generated once in a
// background thread (RSA-2048 generation costs ~0.3 s here, far too long for an event loop) and
// reused round-robin by every forged certificate, as interception proxies commonly do.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "agent/common/result.h"
#include "certs/ossl.h"

namespace wb::certs {

enum class KeyType : std::uint8_t { ec_p256 = 1, rsa2048 = 2 };
const char* key_type_name(KeyType type);

// Which key types a client can verify, derived from its signature_algorithms.
struct KeyTypes {
  std::uint8_t bits = 0;
  static KeyTypes any() { return {3}; }
  static KeyTypes only(KeyType t) { return {static_cast<std::uint8_t>(t)}; }
  bool has(KeyType t) const { return (bits & static_cast<std::uint8_t>(t)) != 0; }
  bool empty() const { return bits == 0; }
  KeyTypes& add(KeyType t) {
    bits |= static_cast<std::uint8_t>(t);
    return *this;
  }
};

// TLS SignatureScheme code points (RFC 8446 4.2.3) -> key types they let us use:
// ecdsa_secp256r1_sha256 (0x0403) -> EC P-256; rsa_pkcs1_* and rsa_pss_rsae_* -> RSA.
KeyTypes key_types_from_signature_schemes(std::span<const std::uint16_t> schemes);

// The key type of a certificate's public key, if it is one we can mirror.
std::optional<KeyType> key_type_of(EVP_PKEY* key);

// Mirror the server where the client allows it, else whatever the client allows (EC first);
// a client offering neither (or an empty set = unknown) gets the server's type, EC by default.
KeyType choose_key_type(std::optional<KeyType> server, KeyTypes client_accepts);

Result<EvpPkeyPtr> generate_key(KeyType type);
Result<EvpPkeyPtr> generate_pool_key(KeyType type);

class KeyPool {
 public:
  // Starts the generator thread at once: first one EC and one RSA key, then the rest.
  KeyPool(std::size_t ec_keys, std::size_t rsa_keys);
  ~KeyPool();  // stops the generator between two keys and joins it
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A new reference to a pool key of that type, round-robin. If none is ready yet: EC keys are
  // generated inline (~50 us); RSA waits for the generator for at most `rsa_wait`.
  Result<EvpPkeyPtr> get(KeyType type,
                         std::chrono::milliseconds rsa_wait = std::chrono::seconds(5));
  // True once at least one key of each type exists (call at start-up, before accepting).
  bool wait_ready(std::chrono::milliseconds timeout);
  std::size_t available(KeyType type) const;

  // How far the generator is: keys made of each type against the number asked for, and whether
  // it has finished (every key made, or given up on). Start-up work, not per connection: the
  // RSA keys cost 0.1-0.6 s of CPU each here, which a benchmark must not count against the
  // connections it measures (wirebump status shows it; tests/bench/compare.sh waits for it).
  struct Progress {
    std::size_t ec = 0, ec_wanted = 0, rsa = 0, rsa_wanted = 0;
    bool done = false;
  };
  Progress progress() const;

 private:
  void generate_all(std::size_t ec_keys, std::size_t rsa_keys);
  std::vector<EvpPkeyPtr>& keys(KeyType type) { return type == KeyType::ec_p256 ? ec_ : rsa_; }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EvpPkeyPtr> ec_, rsa_;
  std::size_t next_ec_ = 0, next_rsa_ = 0;
  const std::size_t ec_wanted_, rsa_wanted_;
  bool stop_ = false;
  bool done_ = false;  // generate_all returned
  std::thread thread_;
};

}  // namespace wb::certs
