#include "inspectors/sip/sip_message.h"

#include "inspectors/parse.h"

namespace wb::sip {
namespace {

using inspect::iequals;
using inspect::trim;

struct CompactForm {
  char letter;
  std::string_view name;
};
// RFC 3261 section 7.3.3 plus the registered extensions (IANA "Header Fields" compact forms).
constexpr CompactForm kCompactForms[] = {
    {'a', "Accept-Contact"},
    {'b', "Referred-By"},
    {'c', "Content-Type"},
    {'d', "Request-Disposition"},
    {'e', "Content-Encoding"},
    {'f', "From"},
    {'i', "Call-ID"},
    {'j', "Reject-Contact"},
    {'k', "Supported"},
    {'l', "Content-Length"},
    {'m', "Contact"},
    {'n', "Identity-Info"},
    {'o', "Event"},
    {'r', "Refer-To"},
    {'s', "Subject"},
    {'t', "To"},
    {'u', "Allow-Events"},
    {'v', "Via"},
    {'x', "Session-Expires"},
    {'y', "Identity"},
};

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool parse_start_line(std::string_view line, Message& out, std::string_view& error) {
  if (line.substr(0, 8) == "SIP/2.0 ") {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    std::string_view rest = line.substr(8);
    if (rest.size() < 3) return error = "SIP status line too short", false;
    auto code = inspect::parse_decimal(rest.substr(0, 3), 699);
    if (!code || *code < 100) return error = "SIP status code is not 100..699", false;
    if (rest.size() > 3 && rest[3] != ' ')
      return error = "SIP status code not followed by SP", false;
    out.is_request = false;
    out.status = static_cast<int>(*code);
    out.reason = rest.size() > 4 ? rest.substr(4) : std::string_view{};
    return true;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return error = "SIP request line has no SP", false;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return error = "SIP request line has one SP", false;
  std::string_view method = line.substr(0, sp1);
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return error = "SIP method is not a token", false;
  if (uri.empty() || uri.find(' ') != std::string_view::npos) {
    return error = "SIP Request-URI is empty or has spaces", false;
  }
  if (version != "SIP/2.0") return error = "SIP version is not SIP/2.0", false;
  out.is_request = true;
  out.method = method;
  out.uri = uri;
  return true;
}

}  // namespace

std::string_view canonical_header_name(std::string_view name) {
  if (name.size() == 1) {
    char c = inspect::ascii_lower(name[0]);
    for (const auto& form : kCompactForms) {
      if (form.letter == c) return form.name;
    }
  }
  return name;
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(canonical_header_name(headers[i].name), name)) return headers[i].value;
  }
  return std::nullopt;
}

std::size_t Message::count(std::string_view name) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(canonical_header_name(headers[i].name), name)) ++n;
  }
  return n;
}

HeadStatus parse_head(std::span<char> head, Message& out, std::string_view& error) {
  out = Message{};
  std::string_view text(head.data(), head.size());
  auto first_end = inspect::find_crlf(text);
  if (!first_end) return error = "SIP start line not terminated by CRLF", HeadStatus::kError;
  if (!parse_start_line(text.substr(0, *first_end), out, error)) return HeadStatus::kError;

  std::size_t pos = *first_end + 2;
  while (pos < text.size()) {
    auto end = inspect::find_crlf(text, pos);
    if (!end) return error = "SIP header line not terminated by CRLF", HeadStatus::kError;
    if (*end == pos) break;  // the empty line ending the head
    // A line starting with whitespace continues the previous header (RFC 3261 7.3.1): join it
    // by turning the CRLF before it into spaces, in place.
    std::size_t line_end = *end;
    while (line_end + 2 < text.size() &&
           (text[line_end + 2] == ' ' || text[line_end + 2] == '\t')) {
      head[line_end] = ' ';
      head[line_end + 1] = ' ';
      auto next = inspect::find_crlf(text, line_end + 2);
      if (!next) return error = "SIP folded header not terminated by CRLF", HeadStatus::kError;
      line_end = *next;
    }
    std::string_view line = text.substr(pos, line_end - pos);
    if (line.front() == ' ' || line.front() == '\t') {
      return error = "SIP continuation line before any header", HeadStatus::kError;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return error = "SIP header line has no colon", HeadStatus::kError;
    std::string_view name = trim(line.substr(0, colon));
    if (!is_token(name)) return error = "SIP header name is not a token", HeadStatus::kError;
    if (out.header_count == kMaxHeaders) return error = "too many SIP headers", HeadStatus::kError;
    out.headers[out.header_count++] = Header{name, trim(line.substr(colon + 1))};
    pos = line_end + 2;
  }
  return HeadStatus::kOk;
}

std::string_view uri_of(std::string_view name_addr) {
  auto lt = name_addr.find('<');
  if (lt != std::string_view::npos) {
    auto gt = name_addr.find('>', lt);
    if (gt == std::string_view::npos) return {};
    return name_addr.substr(lt + 1, gt - lt - 1);
  }
  // addr-spec form: parameters after ';' belong to the header, not the URI.
  return trim(name_addr.substr(0, name_addr.find(';')));
}

std::string_view param_of(std::string_view value, std::string_view param) {
  // Parameters of the header come after the closing '>' (or after the addr-spec).
  auto gt = value.rfind('>');
  std::string_view params = gt == std::string_view::npos ? value : value.substr(gt + 1);
  std::size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    auto end = params.find(';', pos);
    std::string_view item =
        trim(params.substr(pos, end == std::string_view::npos ? end : end - pos));
    auto eq = item.find('=');
    std::string_view key = trim(item.substr(0, eq));
    if (iequals(key, param)) {
      return eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    }
  }
  return {};
}

std::string_view user_host_of(std::string_view uri) {
  auto colon = uri.find(':');
  if (colon != std::string_view::npos && colon < 6) uri.remove_prefix(colon + 1);
  auto end = uri.find_first_of(";?>");
  return uri.substr(0, end);
}

std::optional<CSeq> parse_cseq(std::string_view value) {
  value = trim(value);
  auto sp = value.find_first_of(" \t");
  if (sp == std::string_view::npos) return std::nullopt;
  auto number = inspect::parse_decimal(value.substr(0, sp), 0xffffffffu);
  if (!number) return std::nullopt;
  std::string_view method = trim(value.substr(sp + 1));
  if (!is_token(method)) return std::nullopt;
  return CSeq{static_cast<std::uint32_t>(*number), method};
}

}  // namespace wb::sip
