// TLS AlertDescription values this record layer sends or names (RFC 8446 6).
#pragma once

#include <string>

namespace wb::tls13 {

enum Alert : int {
  kCloseNotify = 0,
  kUnexpectedMessage = 10,
  kBadRecordMac = 20,
  kRecordOverflow = 22,
  kIllegalParameter = 47,
  kDecodeError = 50,
  kInternalError = 80,
  kUserCanceled = 90,
};

// "bad_record_mac", ...; "alert 42" for descriptions without a name here.
std::string alert_name(int alert);

}  // namespace wb::tls13
