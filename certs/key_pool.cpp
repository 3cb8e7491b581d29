// Key pool: RSA-2048 generation takes ~0.3 s, so keys are made once, off the event loop, and
// shared by forged certificates (a forged certificate's trust comes from the issuer signature,
// not from a unique key).
#include "certs/key_pool.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

namespace wb::certs {

const char* key_type_name(KeyType type) {
  return type == KeyType::ec_p256 ? "EC P-256" : "RSA-2048";
}

KeyTypes key_types_from_signature_schemes(std::span<const std::uint16_t> schemes) {
  KeyTypes out;
  for (auto s : schemes) {
    switch (s) {
      case 0x0403:  // ecdsa_secp256r1_sha256
        out.add(KeyType::ec_p256);
        break;
      case 0x0401:  // rsa_pkcs1_sha256
      case 0x0501:  // rsa_pkcs1_sha384
      case 0x0601:  // rsa_pkcs1_sha512
      case 0x0804:  // rsa_pss_rsae_sha256
      case 0x0805:  // rsa_pss_rsae_sha384
      case 0x0806:  // rsa_pss_rsae_sha512
        out.add(KeyType::rsa2048);
        break;
      default:
        break;
    }
  }
  return out;
}

std::optional<KeyType> key_type_of(EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  if (EVP_PKEY_is_a(key, "EC")) return KeyType::ec_p256;
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) return KeyType::rsa2048;
  return std::nullopt;
}

KeyType choose_key_type(std::optional<KeyType> server, KeyTypes client) {
  if (client.empty()) return server.value_or(KeyType::ec_p256);
  if (server && client.has(*server)) return *server;
  if (client.has(KeyType::ec_p256)) return KeyType::ec_p256;
  if (client.has(KeyType::rsa2048)) return KeyType::rsa2048;
  return server.value_or(KeyType::ec_p256);
}

Result<EvpPkeyPtr> generate_key(KeyType type) {
  EvpPkeyPtr key(type == KeyType::ec_p256 ? EVP_EC_gen("prime256v1") : EVP_RSA_gen(2048));
  if (!key) return ossl_error(std::string("generate ") + key_type_name(type) + " key");
  return key;
}

Result<EvpPkeyPtr> generate_pool_key(KeyType type) {
  WB_TRY_ASSIGN(EvpPkeyPtr key, generate_key(type));
  return legacy_form(key.get());
}

KeyPool::KeyPool(std::size_t ec_keys, std::size_t rsa_keys)
    : ec_wanted_(ec_keys), rsa_wanted_(rsa_keys) {
  thread_ = std::thread([this, ec_keys, rsa_keys] {
    generate_all(ec_keys, rsa_keys);
    std::lock_guard lock(mu_);
    done_ = true;
  });
}

KeyPool::~KeyPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void KeyPool::generate_all(std::size_t ec_keys, std::size_t rsa_keys) {
  // One of each first so both types are usable as early as possible.
  std::vector<KeyType> plan;
  if (ec_keys > 0) plan.push_back(KeyType::ec_p256);
  if (rsa_keys > 0) plan.push_back(KeyType::rsa2048);
  for (std::size_t i = 1; i < ec_keys; ++i) plan.push_back(KeyType::ec_p256);
  for (std::size_t i = 1; i < rsa_keys; ++i) plan.push_back(KeyType::rsa2048);
  for (KeyType type : plan) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto key = generate_pool_key(type);
    if (!key.ok()) continue;  // the next attempt or get() reports failures
    std::lock_guard lock(mu_);
    keys(type).push_back(std::move(key).value());
    cv_.notify_all();
  }
}

Result<EvpPkeyPtr> KeyPool::get(KeyType type, std::chrono::milliseconds rsa_wait) {
  std::unique_lock lock(mu_);
  auto& pool = keys(type);
  if (pool.empty()) {
    if (type == KeyType::ec_p256) {
      lock.unlock();
      auto key = generate_pool_key(type);
      if (!key.ok()) return key.error();
      lock.lock();
      if (ec_.empty()) ec_.push_back(share_key(key->get()));
      return key;
    }
    if (!cv_.wait_for(lock, rsa_wait, [&] { return !pool.empty() || stop_; }) || pool.empty()) {
      return make_error(std::errc::timed_out, "RSA key pool not ready yet");
    }
  }
  std::size_t& next = type == KeyType::ec_p256 ? next_ec_ : next_rsa_;
  EVP_PKEY* key = pool[next++ % pool.size()].get();
  return share_key(key);
}

bool KeyPool::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !ec_.empty() && !rsa_.empty(); });
}

std::size_t KeyPool::available(KeyType type) const {
  std::lock_guard lock(mu_);
  return type == KeyType::ec_p256 ? ec_.size() : rsa_.size();
}

KeyPool::Progress KeyPool::progress() const {
  std::lock_guard lock(mu_);
  return {ec_.size(), ec_wanted_, rsa_.size(), rsa_wanted_, done_};
}

}  // namespace wb::certs
