#include "agent/tls13/alerts.h"

namespace wb::tls13 {

std::string alert_name(int alert) {
  switch (alert) {
    case 0:
      return "close_notify";
    case 10:
      return "unexpected_message";
    case 20:
      return "bad_record_mac";
    case 22:
      return "record_overflow";
    case 40:
      return "handshake_failure";
    case 42:
      return "bad_certificate";
    case 47:
      return "illegal_parameter";
    case 48:
      return "unknown_ca";
    case 50:
      return "decode_error";
    case 51:
      return "decrypt_error";
    case 70:
      return "protocol_version";
    case 80:
      return "internal_error";
    case 90:
      return "user_canceled";
    case 109:
      return "missing_extension";
    case 116:
      return "certificate_required";
    default:
      return "alert " + std::to_string(alert);
  }
}

}  // namespace wb::tls13
