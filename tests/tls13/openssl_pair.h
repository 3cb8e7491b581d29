// A real OpenSSL client and server (libssl, tests only) over memory BIOs in this process. The
// handshake runs step by step so the pair can count, with RecordBoundaries, the records each side
// sends under its application traffic key, as the coordinator does on its ciphertext streams;
// the key-log callback captures CLIENT/SERVER_TRAFFIC_SECRET_0. handoff() then frees one side's
// SSL object and returns what a RecordLayer needs to stand in for it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "agent/tls13/record_boundaries.h"
#include "agent/tls13/record_layer.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

class OpensslPair {
 public:
  // `ciphersuite`: an SSL_CTX_set_ciphersuites() name; `tickets`: the server's num_tickets.
  OpensslPair(const char* ciphersuite, int tickets);
  ~OpensslPair();
  OpensslPair(const OpensslPair&) = delete;
  OpensslPair& operator=(const OpensslPair&) = delete;

  // Runs the handshake; false (with a gtest failure) when it does not complete.
  bool handshake();
  SSL* ssl(bool client) const { return side(client).ssl; }

  // ---- while both sides are OpenSSL ----
  // Moves everything one side has written to the other, counting records after the handshake.
  void flush(bool from_client);
  std::uint64_t records_sent(bool by_client) const;

  // ---- either way ----
  Bytes take_output(bool client);  // what that side's SSL has written (uncounted)
  void give_input(bool client, std::span<const std::uint8_t> bytes);
  // SSL_read until it stops; `error` gets the final SSL_get_error().
  Bytes read(bool client, int& error);
  bool write(bool client, std::span<const std::uint8_t> plaintext);
  // The last alert this side received (SSL_CB_READ_ALERT), -1 when none.
  int alert_received(bool client) const { return side(client).alert_received; }

  // Lets that side's SSL read what it was sent, then frees it and returns its role's handoff:
  // the suite it negotiated, its traffic secrets and the counted sequence numbers.
  std::optional<tls13::Handoff> handoff(bool client);

 private:
  struct Side {
    SSL* ssl = nullptr;
    BIO* in = nullptr;   // owned by ssl
    BIO* out = nullptr;  // owned by ssl
    std::optional<tls13::Secret> client_secret;
    std::optional<tls13::Secret> server_secret;
    int alert_received = -1;
    tls13::RecordBoundaries sent;  // records written under the application key
    bool counting = false;
  };
  static void keylog(const SSL* ssl, const char* line);
  static void info(const SSL* ssl, int where, int ret);
  Side& side(bool client) { return client ? client_ : server_; }
  const Side& side(bool client) const { return client ? client_ : server_; }

  SSL_CTX* client_ctx_ = nullptr;
  SSL_CTX* server_ctx_ = nullptr;
  Side client_;
  Side server_;
};

}  // namespace wb::test
