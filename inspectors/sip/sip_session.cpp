#include "inspectors/sip/sip_session.h"

#include <algorithm>

#include "inspectors/parse.h"

namespace wb::sip {
namespace {

using inspect::iequals;
using inspect::trim;

constexpr std::size_t kMaxMethods = 24;

// Text lines of a body (SDP, or each part of a multipart body: the lines are what matters).
template <class Fn>
void for_each_line(std::string_view body, Fn&& fn) {
  while (!body.empty()) {
    auto end = body.find('\n');
    std::string_view line = body.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
  }
}

}  // namespace

std::string Session::keep(std::string_view text) const {
  return inspect::printable(text, limits_.max_text);
}

Dialog* Session::dialog_for(std::string_view call_id) {
  auto it = dialogs_.find(std::string(call_id.substr(0, limits_.max_text)));
  return it == dialogs_.end() ? nullptr : &it->second;
}

Dialog& Session::new_dialog(std::string_view call_id) {
  if (dialogs_.size() >= limits_.max_dialogs) {
    // Forget the oldest finished dialog, or the oldest one if all are open.
    auto victim = dialogs_.end();
    for (auto it = dialogs_.begin(); it != dialogs_.end(); ++it) {
      bool better =
          victim == dialogs_.end() || (!it->second.open() && victim->second.open()) ||
          (it->second.open() == victim->second.open() && it->second.order < victim->second.order);
      if (better) victim = it;
    }
    dialogs_.erase(victim);
  }
  Dialog& dialog = dialogs_[keep(call_id)];
  dialog.call_id = keep(call_id);
  dialog.order = ++dialog_order_;
  return dialog;
}

void Session::note_auth(std::string_view value) {
  value = trim(value);
  std::string_view scheme = value.substr(0, value.find_first_of(" \t,"));
  if (scheme.empty()) return;
  for (const auto& known : auth_schemes_) {
    if (iequals(known, scheme)) return;
  }
  if (auth_schemes_.size() < 8) auth_schemes_.push_back(keep(scheme));
}

bool Session::on_message(Origin origin, const Message& message) {
  if (auto agent = message.header("User-Agent")) user_agent_ = keep(*agent);
  if (auto server = message.header("Server")) server_ = keep(*server);
  if (message.is_request) {
    on_request(origin, message);
    return false;
  }
  return on_response(message);
}

void Session::on_request(Origin origin, const Message& message) {
  ++requests_;
  last_method_ = keep(message.method);
  if (methods_.size() < kMaxMethods || methods_.count(last_method_)) ++methods_[last_method_];
  if (auto auth = message.header("Authorization")) {
    std::string_view value = trim(*auth);
    auth_used_ = keep(value.substr(0, value.find_first_of(" \t,")));
  }
  auto to = message.header("To");
  auto from = message.header("From");
  if (user_.empty() && origin == Origin::kClient && from) user_ = keep(user_host_of(uri_of(*from)));

  if (message.method == "REGISTER") {
    if (to) user_ = keep(user_host_of(uri_of(*to)));  // the address of record
    if (auto cseq = parse_cseq(message.header("CSeq").value_or(""))) register_cseq_ = cseq->number;
    register_expires_ = 3600;
    if (auto expires = message.header("Expires")) {
      register_expires_ = inspect::parse_decimal(trim(*expires), 1u << 31).value_or(3600);
    }
    if (auto contact = message.header("Contact")) {
      auto param = param_of(*contact, "expires");
      if (!param.empty())
        register_expires_ = inspect::parse_decimal(param, 1u << 31).value_or(3600);
    }
    registration_ = "registering";
    return;
  }
  if (message.method == "NEGOTIATE") {
    if (auto compression = message.header("Compression")) {
      compression_requested_ = inspect::icontains(*compression, "LZ77");
    }
    return;
  }

  auto call_id = message.header("Call-ID");
  if (!call_id) return;
  Dialog* dialog = dialog_for(*call_id);
  if (message.method == "INVITE") {
    bool initial = !to || param_of(*to, "tag").empty();
    if (!dialog && initial) {
      dialog = &new_dialog(*call_id);
      dialog->state = "calling";
      if (from) dialog->from = keep(user_host_of(uri_of(*from)));
      if (from) dialog->from_tag = keep(param_of(*from, "tag"));
      if (to) dialog->to = keep(user_host_of(uri_of(*to)));
    }
    if (dialog) on_body(*dialog, message);
  } else if (!dialog) {
    return;
  } else if (message.method == "ACK") {
    if (dialog->state == "confirmed") dialog->state = "established";
    on_body(*dialog, message);
  } else if (message.method == "BYE") {
    if (dialog->open()) dialog->state = "terminating";
  } else if (message.method == "CANCEL") {
    if (dialog->open()) dialog->state = "cancelling";
  }
}

bool Session::on_response(const Message& message) {
  ++responses_;
  last_status_ = message.status;
  for (std::size_t i = 0; i < message.header_count; ++i) {
    auto name = canonical_header_name(message.headers[i].name);
    if (iequals(name, "WWW-Authenticate") || iequals(name, "Proxy-Authenticate")) {
      note_auth(message.headers[i].value);
    }
  }
  auto cseq = parse_cseq(message.header("CSeq").value_or(""));
  if (!cseq) return false;

  if (cseq->method == "REGISTER") {
    if (cseq->number != register_cseq_ && registration_ != "registering") return false;
    register_status_ = message.status;
    if (message.status < 200) return false;
    if (message.status == 401 || message.status == 407) {
      registration_ = "challenged";
    } else if (message.status < 300) {
      // The registrar's grant wins over what the client asked for (RFC 3261 10.2.4).
      if (auto contact = message.header("Contact");
          contact && !param_of(*contact, "expires").empty()) {
        register_expires_ = inspect::parse_decimal(param_of(*contact, "expires"), 1u << 31)
                                .value_or(register_expires_);
      } else if (auto expires = message.header("Expires")) {
        register_expires_ =
            inspect::parse_decimal(trim(*expires), 1u << 31).value_or(register_expires_);
      }
      registration_ = register_expires_ == 0 ? "unregistered" : "registered";
      ++registrations_;
    } else {
      registration_ = "failed";
    }
    return false;
  }
  if (cseq->method == "NEGOTIATE") {
    auto compression = message.header("Compression");
    bool on = message.status >= 200 && message.status < 300 && compression_requested_ &&
              compression && inspect::icontains(*compression, "LZ77");
    compressed_ = compressed_ || on;
    return on;
  }

  auto call_id = message.header("Call-ID");
  if (!call_id) return false;
  Dialog* dialog = dialog_for(*call_id);
  if (!dialog) return false;
  if (cseq->method == "INVITE") {
    if (auto to = message.header("To"); to && dialog->to_tag.empty()) {
      dialog->to_tag = keep(param_of(*to, "tag"));
    }
    if (message.status < 200) {
      if (dialog->state == "calling" && message.status > 100) dialog->state = "early";
    } else if (message.status < 300) {
      if (dialog->state != "established" && dialog->open()) dialog->state = "confirmed";
      dialog->final_status = message.status;
    } else {
      dialog->state = "failed";
      dialog->final_status = message.status;
    }
    on_body(*dialog, message);
  } else if (cseq->method == "BYE" && message.status >= 200) {
    dialog->state = "terminated";
  } else if (cseq->method == "CANCEL" && message.status >= 200 && message.status < 300) {
    dialog->state = "terminated";
  }
  return false;
}

void Session::on_body(Dialog& dialog, const Message& message) {
  if (message.body.empty()) return;
  auto type = message.header("Content-Type").value_or("");
  if (!inspect::icontains(type, "sdp") && !inspect::icontains(type, "multipart")) return;
  for_each_line(message.body, [&](std::string_view line) {
    if (line.size() < 2 || line[1] != '=') return;
    if (line[0] == 'm' && dialog.media.size() < limits_.max_media) {
      dialog.media.push_back(keep(line.substr(2)));
    } else if (line[0] == 'c' && dialog.connections.size() < limits_.max_media) {
      std::string text = keep(line.substr(2));
      if (std::find(dialog.connections.begin(), dialog.connections.end(), text) ==
          dialog.connections.end()) {
        dialog.connections.push_back(std::move(text));
      }
    } else if (line[0] == 'a' && line.substr(2, 10) == "candidate:" &&
               dialog.candidates.size() < limits_.max_candidates) {
      dialog.candidates.push_back(keep(line.substr(12)));
    }
  });
}

std::size_t Session::open_dialogs() const {
  return static_cast<std::size_t>(std::count_if(
      dialogs_.begin(), dialogs_.end(), [](const auto& item) { return item.second.open(); }));
}

std::string Session::brief() const {
  std::string line = user_.empty() ? "-" : user_;
  line += ' ';
  line += last_method_.empty() ? "-" : last_method_;
  line += ' ';
  line += last_status_ ? std::to_string(last_status_) : "-";
  line += " dialogs=" + std::to_string(open_dialogs());
  line += " reg=" + registration_;
  if (!auth_schemes_.empty()) {
    line += " auth=";
    for (std::size_t i = 0; i < auth_schemes_.size(); ++i)
      line += (i ? "," : "") + auth_schemes_[i];
  }
  if (compressed_) line += " compressed";
  return line;
}

nlohmann::json Session::detail() const {
  nlohmann::json dialogs = nlohmann::json::array();
  for (const auto& [id, dialog] : dialogs_) {
    dialogs.push_back({{"call_id", dialog.call_id},
                       {"from", dialog.from},
                       {"from_tag", dialog.from_tag},
                       {"to", dialog.to},
                       {"to_tag", dialog.to_tag},
                       {"state", dialog.state},
                       {"final_status", dialog.final_status},
                       {"media", dialog.media},
                       {"connections", dialog.connections},
                       {"candidates", dialog.candidates}});
  }
  return {{"user", user_},
          {"last_method", last_method_},
          {"last_status", last_status_},
          {"registration",
           {{"aor", user_},
            {"state", registration_},
            {"status", register_status_},
            {"expires", register_expires_},
            {"count", registrations_}}},
          {"auth_offered", auth_schemes_},
          {"auth_used", auth_used_},
          {"user_agent", user_agent_},
          {"server", server_},
          {"compressed", compressed_},
          {"methods", methods_},
          {"requests", requests_},
          {"responses", responses_},
          {"dialogs_open", open_dialogs()},
          {"dialogs", dialogs}};
}

}  // namespace wb::sip
