// TLS AlertDescription values the record layers send, and the names of all of them (RFC 8446 6,
// RFC 5246 7.2).
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

// "bad_record_mac", "unknown_ca", ... (the IANA TLS Alert registry's names); "alert 200" for a
// description without one.
std::string alert_name(int alert);

}  // namespace wb::tls13
