// A real OpenSSL TLS 1.2 client and server (libssl, tests only) over memory BIOs in this process.
// Records are counted as the coordinator counts them: SSL_set_msg_callback reports every record
// header read and written, and each direction's count restarts at its ChangeCipherSpec, so after
// the handshake it is 1 (the Finished, seq 0). handoff() frees one side's SSL object and returns
// what a tls12::RecordLayer needs to stand in for it.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <span>

#include "agent/tls12/record_layer.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

enum class ServerKey : std::uint8_t { kEcdsa, kRsa };

class Tls12Pair {
 public:
  // `cipher_list`: an SSL_CTX_set_cipher_list() name, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256".
  Tls12Pair(const char* cipher_list, ServerKey key);
  ~Tls12Pair();
  Tls12Pair(const Tls12Pair&) = delete;
  Tls12Pair& operator=(const Tls12Pair&) = delete;

  bool handshake();
  // After handshake(): new SSL objects resuming the first connection's session (abbreviated
  // handshake, the server's Finished first).
  bool resume();
  SSL* ssl(bool client) const { return side(client).ssl; }

  // Moves everything one side has written to the other.
  void flush(bool from_client);
  // Records the side wrote since its ChangeCipherSpec: the next sequence number it uses.
  std::uint64_t next_write_seq(bool client) const { return side(client).written_after_ccs; }

  Bytes take_output(bool client);
  void give_input(bool client, std::span<const std::uint8_t> bytes);
  Bytes read(bool client, int& error);
  bool write(bool client, std::span<const std::uint8_t> plaintext);
  int alert_received(bool client) const { return side(client).alert_received; }
  int alert_level_received(bool client) const { return side(client).alert_level; }

  // Lets that side's SSL read what it was sent, then frees it and returns its role's handoff.
  std::optional<tls12::Handoff> handoff(bool client);

 private:
  struct Side {
    SSL* ssl = nullptr;
    BIO* in = nullptr;   // owned by ssl
    BIO* out = nullptr;  // owned by ssl
    bool ccs_written = false;
    std::uint64_t written_after_ccs = 0;
    bool ccs_read = false;
    std::uint64_t read_after_ccs = 0;
    int alert_received = -1;
    int alert_level = -1;
  };
  void make_ssls();
  static void on_message(int write_p, int version, int content_type, const void* buf, size_t len,
                         SSL* ssl, void* arg);
  static void info(const SSL* ssl, int where, int ret);
  Side& side(bool client) { return client ? client_ : server_; }
  const Side& side(bool client) const { return client ? client_ : server_; }

  SSL_CTX* client_ctx_ = nullptr;
  SSL_CTX* server_ctx_ = nullptr;
  Side client_;
  Side server_;
};

}  // namespace wb::test
