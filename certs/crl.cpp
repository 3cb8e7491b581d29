#include "certs/crl.h"

#include <charconv>

#include "certs/state_files.h"

namespace wb::certs {

Result<Bytes> build_crl(const Keyring& issuer, const std::vector<RevokedSerial>& revoked,
                        std::uint64_t crl_number, std::int64_t this_update,
                        std::chrono::seconds validity) {
  X509CrlPtr crl(X509_CRL_new());
  if (!crl) return ossl_error("new CRL");
  X509_CRL* c = crl.get();
  Asn1TimePtr last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update + validity.count())));
  if (X509_CRL_set_version(c, 1) != 1 ||  // v2: needed for extensions
      X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer.cert())) != 1 || !last || !next ||
      X509_CRL_set1_lastUpdate(c, last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(c, next.get()) != 1) {
    return ossl_error("CRL header");
  }
  for (const auto& r : revoked) {
    X509RevokedPtr entry(X509_REVOKED_new());
    BIGNUM* raw = nullptr;
    if (!entry || BN_hex2bn(&raw, r.serial.c_str()) == 0) return ossl_error("CRL entry serial");
    BignumPtr bn(raw);
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(r.revoked_at)));
    if (!serial || !when || X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(c, entry.get()) != 1) {
      return ossl_error("CRL entry");
    }
    entry.release();  // owned by the CRL now
  }
  X509_CRL_sort(c);

  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(c, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return ossl_error("CRL number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.cert(), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(c, aki.get(), -1) != 1) return ossl_error("CRL AKI");
  if (X509_CRL_sign(c, issuer.key(), EVP_sha256()) <= 0) return ossl_error("sign CRL");

  int len = i2d_X509_CRL(c, nullptr);
  if (len <= 0) return ossl_error("encode CRL");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509_CRL(c, &p);
  return der;
}

Result<std::unique_ptr<CrlPublisher>> CrlPublisher::open(const Keyring& issuer,
                                                         const RevocationStore& store,
                                                         std::filesystem::path number_file,
                                                         CrlTiming timing, std::int64_t now) {
  std::unique_ptr<CrlPublisher> pub(
      new CrlPublisher(issuer, store, std::move(number_file), timing));
  if (!pub->number_file_.empty() && std::filesystem::exists(pub->number_file_)) {
    WB_TRY_ASSIGN(std::string text, read_small_file(pub->number_file_, 64));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pub->number_);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return make_error(std::errc::invalid_argument,
                        pub->number_file_.string() + ": not a CRL number");
    }
  }
  WB_TRY(pub->regenerate(now));
  return pub;
}

Status CrlPublisher::regenerate(std::int64_t now) {
  // Serialised: two regenerations must not hand out the same number.
  std::lock_guard lock(mu_);
  std::uint64_t generation = store_.generation();
  std::uint64_t number = number_ + 1;
  WB_TRY_ASSIGN(Bytes der, build_crl(issuer_, store_.revoked(), number, now, timing_.validity));
  if (!number_file_.empty()) {
    WB_TRY(write_file_atomic(number_file_, std::to_string(number) + "\n", 0600));
  }
  number_ = number;
  this_update_ = now;
  store_generation_ = generation;
  der_ = std::make_shared<const Bytes>(std::move(der));
  return {};
}

bool CrlPublisher::due(std::int64_t now) const {
  std::lock_guard lock(mu_);
  return now >= this_update_ + timing_.refresh_after.count() ||
         store_.generation() != store_generation_;
}

std::shared_ptr<const Bytes> CrlPublisher::der() const {
  std::lock_guard lock(mu_);
  return der_;
}

std::uint64_t CrlPublisher::number() const {
  std::lock_guard lock(mu_);
  return number_;
}

std::int64_t CrlPublisher::this_update() const {
  std::lock_guard lock(mu_);
  return this_update_;
}

}  // namespace wb::certs
