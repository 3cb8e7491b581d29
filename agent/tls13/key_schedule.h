// The slice of the TLS 1.3 key schedule (RFC 8446 7.1, 7.2, 7.3) a record layer needs once the
// handshake is over: traffic key and IV from a traffic secret, and the next secret for KeyUpdate.
// HKDF itself is OpenSSL's (EVP_KDF "HKDF", expand-only); only the HkdfLabel is built here.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "agent/common/result.h"
#include "agent/tls13/suite.h"

namespace wb::tls13 {

// HKDF-Expand-Label(secret, label, "", out.size()) with the suite's hash. The label is given
// without the "tls13 " prefix. Labels longer than 12 bytes or outputs over 255 bytes are refused.
Status hkdf_expand_label(Suite suite, std::span<const std::uint8_t> secret, std::string_view label,
                         std::span<std::uint8_t> out);

// write_key and write_iv of one direction (RFC 8446 7.3). Cleansed on destruction.
struct TrafficKeys {
  std::array<std::uint8_t, kMaxKeyLen> key{};  // the first params(suite).key_len bytes are used
  std::array<std::uint8_t, kIvLen> iv{};
  TrafficKeys() = default;
  TrafficKeys(const TrafficKeys&) = delete;
  TrafficKeys& operator=(const TrafficKeys&) = delete;
  ~TrafficKeys();
  void wipe();
};

Status derive_traffic_keys(Suite suite, const Secret& secret, TrafficKeys& out);

// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
Result<Secret> next_traffic_secret(Suite suite, const Secret& secret);

}  // namespace wb::tls13
