// Drives two in-memory TLS endpoints against each other (tests only): moves ciphertext both ways
// and advances unfinished handshakes until neither side has anything more to say.
#pragma once

#include <utility>

#include "agent/intercept/tls_endpoint.h"

namespace wb::test {

inline void pump(intercept::TlsEndpoint& a, intercept::TlsEndpoint& b) {
  for (int round = 0; round < 50; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      const auto out = from->output();
      if (!out.empty()) {
        to->feed(out);
        from->consume_output();
        moved = true;
      }
    }
    if (!a.handshake_done()) a.handshake();
    if (!b.handshake_done()) b.handshake();
    if (!moved && a.output().empty() && b.output().empty()) return;
  }
}

}  // namespace wb::test
