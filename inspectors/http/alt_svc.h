// Removing HTTP/3 advertisements from Alt-Svc (RFC 7838) so that browsers stop trying QUIC when
// the bridge blocks it: entries whose protocol id is h3, h3-NN or a gQUIC "quic" are dropped,
// the others (h2=":443") are kept; a header left empty is removed.
#pragma once

#include <string>
#include <string_view>

namespace wb::http {

// Alt-Svc value without its HTTP/3 entries ("" when nothing is left).
std::string strip_h3(std::string_view value);
// Whether an Alt-Svc value has an HTTP/3 entry (what strip_h3 would remove).
bool advertises_h3(std::string_view value);

// Rewrites an HTTP/1.x response head (raw bytes up to and including the empty line); returns
// the number of Alt-Svc headers changed or removed. `out` receives the new head.
int rewrite_head_without_h3(std::string_view head, std::string& out);

}  // namespace wb::http
