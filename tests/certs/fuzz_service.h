// One ephemeral certificate service shared by the certs fuzzers (built on first use): two issuers,
// one forged certificate so the OCSP "good" path is reachable, and a valid OCSP request for it.
#pragma once

#include <ctime>
#include <memory>

#include "certs/cert_service.h"
#include "certs/key_pool.h"

namespace wb::certs::fuzz {

struct FuzzWorld {
  std::unique_ptr<CertService> svc;
  std::shared_ptr<const ForgedCert> forged;
  Bytes valid_request;
};

inline FuzzWorld& world() {
  static FuzzWorld* w = [] {
    auto* out = new FuzzWorld();
    CertConfig cfg;
    cfg.ephemeral = true;
    cfg.crl_host = "crl.fuzz.test";
    cfg.ec_pool_keys = 1;
    cfg.rsa_pool_keys = 0;  // no RSA: forging here uses EC only
    out->svc = std::move(CertService::open(cfg)).value();
    // The untrusted issuer's own certificate stands in for a server leaf.
    X509* leaf = out->svc->issuer(IssuerRole::untrusted).cert();
    out->forged =
        out->svc
            ->forge(ForgeRequest{leaf, true, KeyTypes::only(KeyType::ec_p256)}, std::time(nullptr))
            .value();
    OcspRequestPtr req(OCSP_REQUEST_new());
    OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), out->forged->cert.get(),
                                                    out->svc->issuer(IssuerRole::trusted).cert()));
    OCSP_request_add1_nonce(req.get(), nullptr, -1);
    int len = i2d_OCSP_REQUEST(req.get(), nullptr);
    out->valid_request.resize(static_cast<std::size_t>(len));
    unsigned char* p = out->valid_request.data();
    i2d_OCSP_REQUEST(req.get(), &p);
    return out;
  }();
  return *w;
}

}  // namespace wb::certs::fuzz
