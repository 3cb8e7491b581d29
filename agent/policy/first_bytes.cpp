#include "agent/policy/first_bytes.h"

namespace wb::policy {

FirstBytes first_bytes_kind(const peek::Peek& peek) {
  using FB = FirstBytes;
  if (peek.status != peek::Status::kDone) return FB::kUnknown;  // malformed or undecided
  switch (peek.kind) {
    case peek::Kind::kTls:
      return FB::kTls;
    case peek::Kind::kPseudoTls:
      return FB::kPseudoTls;
    case peek::Kind::kSip:
      return FB::kSip;
    case peek::Kind::kHttp1:
    case peek::Kind::kHttp2:
      return FB::kHttp;
    case peek::Kind::kStun:
    case peek::Kind::kTurnChannel:
      return FB::kStunTurn;
    case peek::Kind::kMsTurn:
      return FB::kMsTurnFraming;
    case peek::Kind::kUnknown:
      return FB::kUnknown;
  }
  return FB::kUnknown;
}

Inner inner_kind(const peek::Peek& peek) {
  using In = Inner;
  if (peek.status != peek::Status::kDone) return In::kUndetected;
  switch (peek.kind) {
    case peek::Kind::kHttp1:
    case peek::Kind::kHttp2:
      return In::kHttp;
    case peek::Kind::kSip:
      return In::kSip;
    case peek::Kind::kMsTurn:
      return In::kMsTurn;
    case peek::Kind::kStun:
    case peek::Kind::kTurnChannel:
      return In::kTurn;
    // TLS inside TLS and pseudo-TLS inside TLS are nothing we inspect.
    case peek::Kind::kTls:
    case peek::Kind::kPseudoTls:
    case peek::Kind::kUnknown:
      return In::kUndetected;
  }
  return In::kUndetected;
}

}  // namespace wb::policy
