// RFC 6960 responder. The issuer itself signs (no delegated responder certificate), and its
// certificate rides along in the response so verifiers that only know the trust anchor by file
// (openssl ocsp -CAfile, Schannel) find the signer.
#include "certs/ocsp_responder.h"

namespace wb::certs {
namespace {

constexpr std::size_t kMaxOcspRequestBytes = 16 * 1024;

Bytes response_der(OCSP_RESPONSE* resp) {
  int len = resp == nullptr ? 0 : i2d_OCSP_RESPONSE(resp, nullptr);
  if (len <= 0) return {};
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  i2d_OCSP_RESPONSE(resp, &p);
  return out;
}

Bytes status_only(int status) {
  OcspResponsePtr resp(OCSP_response_create(status, nullptr));
  return response_der(resp.get());
}

int ocsp_status(CertStatus s) {
  switch (s) {
    case CertStatus::good:
      return V_OCSP_CERTSTATUS_GOOD;
    case CertStatus::revoked:
      return V_OCSP_CERTSTATUS_REVOKED;
    default:
      return V_OCSP_CERTSTATUS_UNKNOWN;
  }
}

struct Window {
  Asn1TimePtr this_update, next_update;
};
Window window(std::int64_t now, const OcspTiming& t) {
  return {Asn1TimePtr(ASN1_TIME_set(nullptr, static_cast<time_t>(now))),
          Asn1TimePtr(ASN1_TIME_set(nullptr, static_cast<time_t>(now + t.validity.count())))};
}

Status add_status(OCSP_BASICRESP* bs, OCSP_CERTID* id, const SerialStatus& s, const Window& w) {
  Asn1TimePtr revoked_at;
  if (s.status == CertStatus::revoked) {
    revoked_at.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(s.revoked_at)));
  }
  if (OCSP_basic_add1_status(bs, id, ocsp_status(s.status), OCSP_REVOKED_STATUS_NOSTATUS,
                             revoked_at.get(), w.this_update.get(),
                             w.next_update.get()) == nullptr) {
    return ossl_error("OCSP single response");
  }
  return {};
}

Result<Bytes> sign_and_encode(OcspBasicRespPtr bs, const Keyring& signer) {
  if (OCSP_basic_sign(bs.get(), signer.cert(), signer.key(), EVP_sha256(), nullptr,
                      OCSP_RESPID_KEY) != 1) {
    return ossl_error("sign OCSP response");
  }
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  Bytes der = response_der(resp.get());
  if (der.empty()) return ossl_error("encode OCSP response");
  return der;
}

// The issuer a CertID names, if it is one of ours (compared with the request's own hash
// algorithm, so SHA-1 and SHA-256 CertIDs both work).
const OcspIssuer* issuer_of(OCSP_CERTID* cid, std::span<const OcspIssuer> issuers) {
  ASN1_OBJECT* md_obj = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(nullptr, &md_obj, nullptr, &serial, cid) != 1 || serial == nullptr) {
    return nullptr;
  }
  const EVP_MD* md = EVP_get_digestbyobj(md_obj);
  if (md == nullptr) return nullptr;
  for (const auto& iss : issuers) {
    OcspCertIdPtr ours(OCSP_cert_id_new(md, X509_get_subject_name(iss.keyring->cert()),
                                        X509_get0_pubkey_bitstr(iss.keyring->cert()), serial));
    if (ours && OCSP_id_issuer_cmp(ours.get(), cid) == 0) return &iss;
  }
  return nullptr;
}

}  // namespace

Bytes ocsp_respond(std::span<const std::uint8_t> der, std::span<const OcspIssuer> issuers,
                   std::int64_t now, OcspTiming timing) {
  if (der.empty() || der.size() > kMaxOcspRequestBytes) {
    return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  const unsigned char* p = der.data();
  OcspRequestPtr req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  int count = req ? OCSP_request_onereq_count(req.get()) : 0;
  if (!req || p != der.data() + der.size() || count <= 0 ||
      static_cast<std::size_t>(count) > kMaxOcspSingleRequests) {
    ERR_clear_error();
    return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  std::vector<const OcspIssuer*> matched(static_cast<std::size_t>(count));
  const OcspIssuer* signer = nullptr;
  for (int i = 0; i < count; ++i) {
    OCSP_CERTID* cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
    matched[static_cast<std::size_t>(i)] = issuer_of(cid, issuers);
    if (signer == nullptr) signer = matched[static_cast<std::size_t>(i)];
  }
  if (signer == nullptr) {
    ERR_clear_error();
    return status_only(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  }

  OcspBasicRespPtr bs(OCSP_BASICRESP_new());
  Window w = window(now, timing);
  if (!bs || !w.this_update || !w.next_update)
    return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
  for (int i = 0; i < count; ++i) {
    OCSP_CERTID* cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
    const OcspIssuer* iss = matched[static_cast<std::size_t>(i)];
    SerialStatus s;
    if (iss != nullptr) {
      ASN1_INTEGER* serial = nullptr;
      OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, cid);
      s = iss->store->status(serial_hex(serial));
    }
    if (!add_status(bs.get(), cid, s, w).ok()) {
      ERR_clear_error();
      return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
  }
  // 1 = copied, 2 = the request had no nonce; 0 = broken nonce extension.
  if (OCSP_copy_nonce(bs.get(), req.get()) == 0) {
    ERR_clear_error();
    return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  auto out = sign_and_encode(std::move(bs), *signer->keyring);
  if (!out.ok()) return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
  return std::move(out).value();
}

Result<Bytes> ocsp_response_for(X509* cert, const OcspIssuer& issuer, std::int64_t now,
                                OcspTiming timing) {
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer.keyring->cert()));
  OcspBasicRespPtr bs(OCSP_BASICRESP_new());
  Window w = window(now, timing);
  if (!id || !bs || !w.this_update || !w.next_update) return ossl_error("OCSP staple");
  SerialStatus s = issuer.store->status(serial_hex(X509_get0_serialNumber(cert)));
  WB_TRY(add_status(bs.get(), id.get(), s, w));
  return sign_and_encode(std::move(bs), *issuer.keyring);
}

}  // namespace wb::certs
