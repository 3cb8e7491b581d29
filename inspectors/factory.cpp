#include "inspectors/factory.h"

#include <string>

#include "inspectors/http/http_inspector.h"
#include "inspectors/sip/sip_inspector.h"
#include "inspectors/turn/turn_inspector.h"

namespace wb::inspect {

Result<std::unique_ptr<Inspector>> make_inspector(std::string_view protocol,
                                                  const Options& options) {
  std::string label(protocol);
  if (protocol == "sip" || protocol == "sips") {
    sip::InspectorOptions sip_options;
    sip_options.deny_malformed = options.sip_deny_malformed;
    return std::unique_ptr<Inspector>(std::make_unique<sip::SipInspector>(label, sip_options));
  }
  if (protocol == "ms-turn" || protocol == "turn") {
    return std::unique_ptr<Inspector>(std::make_unique<turn::TurnInspector>(label));
  }
  if (protocol == "http" || protocol == "https") {
    http::InspectorOptions http_options;
    http_options.block_quic = options.block_quic;
    http_options.alpn_h2 = options.alpn_h2;
    return std::unique_ptr<Inspector>(std::make_unique<http::HttpInspector>(label, http_options));
  }
  return make_error(std::errc::invalid_argument, "no inspector for protocol '" + label +
                                                     "' (sip, sips, ms-turn, turn, http, https)");
}

}  // namespace wb::inspect
