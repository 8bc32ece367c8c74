// The deterministic pseudo-random byte stream the `source` backend sends and
// the tests upload. Shared by both so a test can recompute what a backend sent
// (or should have received) from the seed alone, chunk boundaries notwithstanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice::testing {

// splitmix64 output, 8 bytes per step, little-endian. Random enough that a
// proxy shuffling, duplicating or dropping a chunk changes the checksum.
class ByteStream {
 public:
  explicit ByteStream(uint64_t seed) : state_(seed) {}

  // Fills `size` bytes; successive calls continue the same stream.
  void fill(void* out, size_t size) {
    auto* dst = static_cast<unsigned char*>(out);
    while (size > 0) {
      // Whole words straight to the output: this runs for hundreds of megabytes.
      if (pos_ == sizeof word_ && size >= sizeof word_) {
        store(dst, next());
        dst += sizeof word_;
        size -= sizeof word_;
        continue;
      }
      if (pos_ == sizeof word_) {
        store(word_, next());
        pos_ = 0;
      }
      size_t n = sizeof word_ - pos_;
      if (n > size) n = size;
      std::memcpy(dst, word_ + pos_, n);
      pos_ += n;
      dst += n;
      size -= n;
    }
  }

 private:
  static void store(unsigned char* dst, uint64_t v) {
    for (size_t i = 0; i < 8; ++i) dst[i] = static_cast<unsigned char>(v >> (8 * i));
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
  unsigned char word_[8] = {};
  size_t pos_ = sizeof word_;
};

}  // namespace sluice::testing
