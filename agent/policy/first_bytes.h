// From the first-bytes classifier's answer (agent/peek) to the policy's vocabulary: what arrived
// first on a connection, and what the first decrypted bytes inside intercepted TLS were. The one
// mapping for the interception handler and for `wirebump replay` (what the agent would do).
#pragma once

#include "agent/peek/peek.h"
#include "agent/policy/policy.h"

namespace wb::policy {

// The first bytes of a connection (kTls only for a real ClientHello).
FirstBytes first_bytes_kind(const peek::Peek& peek);

// The first decrypted bytes (from the client, or from the server when it spoke first). A peek
// that is still kNeedMore is not an answer: callers wait for more (up to the bound).
Inner inner_kind(const peek::Peek& peek);

}  // namespace wb::policy
