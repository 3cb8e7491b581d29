// What one SIP connection has said so far, built from parsed messages: registration (address of
// record and result), dialogs by Call-ID (INVITE -> 1xx/2xx -> ACK -> BYE), SDP media and ICE
// candidates, authentication schemes, Microsoft extensions. No parsing of bytes here: the
// inspector feeds it complete messages. Every list is capped so a session's state stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inspectors/sip/sip_message.h"

namespace wb::sip {

enum class Origin : std::uint8_t { kClient, kServer };

struct Dialog {
  std::string call_id;
  std::string from_tag;
  std::string to_tag;
  std::string from;
  std::string to;
  std::string state = "calling";  // calling, early, confirmed, established, terminated, failed
  int final_status = 0;
  std::vector<std::string> media;        // "audio 50000 RTP/AVP"
  std::vector<std::string> candidates;   // "1 1 UDP 2130706431 192.0.2.1 50000 typ host"
  std::vector<std::string> connections;  // c= addresses
  std::uint64_t order = 0;               // creation order, for eviction
  bool open() const { return state != "terminated" && state != "failed"; }
};

struct SessionLimits {
  std::size_t max_dialogs = 32;
  std::size_t max_media = 16;
  std::size_t max_candidates = 32;
  std::size_t max_text = 256;  // longest string kept from a header
};

class Session {
 public:
  explicit Session(SessionLimits limits = {}) : limits_(limits) {}

  // Returns true when this message completes a NEGOTIATE that switched on compression: every
  // byte after it (both directions) is compressed SIP [MS-SIPCOMP].
  bool on_message(Origin origin, const Message& message);

  std::string brief() const;
  nlohmann::json detail() const;

  const std::string& user() const { return user_; }
  const std::string& registration() const { return registration_; }
  std::size_t open_dialogs() const;
  const std::map<std::string, Dialog>& dialogs() const { return dialogs_; }
  const std::vector<std::string>& auth_schemes() const { return auth_schemes_; }

 private:
  void on_request(Origin origin, const Message& message);
  bool on_response(const Message& message);
  void on_body(Dialog& dialog, const Message& message);
  Dialog* dialog_for(std::string_view call_id);
  Dialog& new_dialog(std::string_view call_id);
  std::string keep(std::string_view text) const;
  void note_auth(std::string_view value);

  SessionLimits limits_;
  std::string user_;
  std::string last_method_;
  int last_status_ = 0;
  std::string registration_ =
      "none";  // none, registering, challenged, registered, unregistered, failed
  int register_status_ = 0;
  std::uint32_t register_cseq_ = 0;
  std::uint64_t register_expires_ = 0;
  std::uint64_t registrations_ = 0;
  std::vector<std::string> auth_schemes_;  // offered by the server: NTLM, Kerberos, TLS-DSK, Digest
  std::string auth_used_;                  // scheme of the client's last Authorization
  std::string user_agent_;
  std::string server_;
  bool compression_requested_ = false;
  bool compressed_ = false;
  std::map<std::string, std::uint64_t> methods_;  // requests seen per method (capped)
  std::map<std::string, Dialog> dialogs_;
  std::uint64_t dialog_order_ = 0;
  std::uint64_t requests_ = 0;
  std::uint64_t responses_ = 0;
};

}  // namespace wb::sip
