// The part of the interop fixtures (tests/tls13/interop_test.cpp, tests/tls12/interop_test.cpp)
// that does not depend on the TLS version: a record layer `ours_` standing in for one side of an
// in-process OpenSSL pair `pair_` (test::OpensslPair or test::Tls12Pair), bytes moved between
// them, reads on either side, data both ways. Parameters: (suite index, whether ours is the
// client); each fixture makes pair_ and ours_ in its own start().
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <tuple>

#include "agent/tls13/record_protection.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::test {

template <class Pair, class Layer>
class InteropFixture : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  using Progress = tls13::RecordProtection::Progress;

  bool ours_client() const { return std::get<1>(GetParam()); }
  bool peer() const { return !ours_client(); }  // the side OpenSSL keeps

  void to_peer() {
    pair_->give_input(peer(), ours_->output());
    ours_->consume_output();
  }
  void to_ours() { ours_->feed(pair_->take_output(peer())); }
  Bytes peer_read(int expect_error = SSL_ERROR_WANT_READ) {
    int error = 0;
    Bytes got = pair_->read(peer(), error);
    EXPECT_EQ(error, expect_error);
    return got;
  }
  Bytes ours_read(Progress expect = Progress::kWantMore, std::size_t chunk = 16384) {
    Progress last{};
    Bytes got = read_all(*ours_, last, chunk);
    EXPECT_EQ(last, expect) << ours_->failure().reason;
    return got;
  }
  // Both directions still carry data.
  void expect_data_both_ways(std::uint32_t seed) {
    const Bytes a = pattern(3000, seed);
    ASSERT_TRUE(ours_->write(a).ok());
    to_peer();
    EXPECT_EQ(peer_read(), a);
    const Bytes b = pattern(2000, seed + 1);
    ASSERT_TRUE(pair_->write(peer(), b));
    to_ours();
    EXPECT_EQ(ours_read(), b);
  }

  std::unique_ptr<Pair> pair_;
  std::unique_ptr<Layer> ours_;
};

}  // namespace wb::test
