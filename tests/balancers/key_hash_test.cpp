#include "balancers/key_hash.hpp"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstddef>

namespace sluice::balancers {
namespace {

TEST(KeyHash, Fnv1a64MatchesPublishedVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

// Pinned: a change here remaps every key of every consistent-hash cluster.
TEST(KeyHash, HashKeyIsStable) {
  EXPECT_EQ(fmix64(0), 0u);
  EXPECT_EQ(fmix64(1), 0xb456bcfc34c2cb2cULL);
  EXPECT_EQ(hash_key(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(hash_key("foobar"), 0x2c22194922d1672bULL);
  EXPECT_EQ(hash_key("10.0.0.1"), 0xc879e56ddc6c5c88ULL);
  const std::array<std::byte, 4> ip{std::byte{192}, std::byte{168}, std::byte{1}, std::byte{1}};
  EXPECT_EQ(hash_key(std::span<const std::byte>(ip)), 0x22277356841ad87eULL);
  static_assert(hash_key("a") == 0x82a2a958a9bece5bULL, "usable at compile time");
}

// Neighbouring IPv4 addresses must land far apart in the top bits Maglev and the ring use.
TEST(KeyHash, OneBitChangeFlipsAboutHalfTheBits) {
  double flipped = 0;
  int samples = 0;
  for (uint32_t ip = 0; ip < 4096; ++ip) {
    std::array<std::byte, 4> a{std::byte{10}, std::byte{0}, std::byte(ip >> 8), std::byte(ip)};
    const uint64_t h = hash_key(std::span<const std::byte>(a));
    for (int bit = 0; bit < 8; ++bit) {
      auto b = a;
      b[3] ^= std::byte(1 << bit);
      flipped += std::popcount(h ^ hash_key(std::span<const std::byte>(b)));
      ++samples;
    }
  }
  EXPECT_NEAR(flipped / samples, 32.0, 0.5);
}

}  // namespace
}  // namespace sluice::balancers
