#include "agent/intercept/builtin_key_methods.h"

// The ENGINE and EVP_PKEY_METHOD calls are deprecated in OpenSSL 3.0 and are the only way to the
// built-in decoding path there (see the header); this file is their one user.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

#include <openssl/engine.h>
#include <openssl/evp.h>

#include <atomic>
#include <iterator>
#include <string_view>

#include "agent/intercept/ossl_types.h"

namespace wb::intercept {
namespace {

constexpr const char* kEngineId = "wirebump-builtin-keys";
constexpr int kKeyTypes[] = {EVP_PKEY_RSA, EVP_PKEY_EC};

std::atomic<bool> g_installed{false};

// ENGINE_PKEY_METHS_PTR: with no method asked for, the list of key types; else OpenSSL's own
// built-in method for that type. Those are static tables that OpenSSL never frees or changes
// (EVP_PKEY_meth_free only frees methods flagged dynamic), so handing them out as they are is
// safe and leaves no copy to own.
int builtin_pkey_meths(ENGINE*, EVP_PKEY_METHOD** method, const int** types, int type) {
  if (method == nullptr) {
    *types = kKeyTypes;
    return static_cast<int>(std::size(kKeyTypes));
  }
  for (int t : kKeyTypes) {
    if (t == type) {
      *method = const_cast<EVP_PKEY_METHOD*>(EVP_PKEY_meth_find(type));
      return *method != nullptr ? 1 : 0;
    }
  }
  *method = nullptr;
  return 0;
}

}  // namespace

Result<std::unique_ptr<BuiltinKeyMethods>> BuiltinKeyMethods::install() {
  if (EVP_default_properties_is_fips_enabled(nullptr) == 1) {
    return make_error(
        std::errc::operation_not_permitted,
        "built-in key methods: not in FIPS mode (they are outside the FIPS provider)");
  }
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) {
    return make_error(std::errc::device_or_resource_busy,
                      "built-in key methods: already installed");
  }
  ENGINE* e = ENGINE_new();
  const bool ok = e != nullptr && ENGINE_set_id(e, kEngineId) == 1 &&
                  ENGINE_set_name(e, "OpenSSL's built-in RSA and EC key methods (wirebump)") == 1 &&
                  ENGINE_set_pkey_meths(e, builtin_pkey_meths) == 1 &&
                  ENGINE_set_default_pkey_meths(e) == 1;
  if (!ok) {
    auto err = ossl_failure("built-in key methods: register engine");
    if (e != nullptr) {
      ENGINE_unregister_pkey_meths(e);
      ENGINE_free(e);
    }
    g_installed = false;
    return err;
  }
  return std::unique_ptr<BuiltinKeyMethods>(new BuiltinKeyMethods(e));
}

BuiltinKeyMethods::~BuiltinKeyMethods() {
  // Drops the table's functional reference; contexts still using the engine hold their own.
  ENGINE_unregister_pkey_meths(engine_);
  ENGINE_free(engine_);
  g_installed = false;
}

bool BuiltinKeyMethods::active() {
  for (int t : kKeyTypes) {
    ENGINE* e = ENGINE_get_pkey_meth_engine(t);
    if (e == nullptr) return false;
    const bool ours = std::string_view(ENGINE_get_id(e)) == kEngineId;
    ENGINE_finish(e);
    if (!ours) return false;
  }
  return true;
}

}  // namespace wb::intercept
