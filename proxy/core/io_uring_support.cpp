#include "proxy/core/io_uring_support.hpp"

#include <sys/utsname.h>

#include <cstdio>
#include <iterator>

#include "proxy/core/buffer_ring.hpp"
#include "proxy/core/ring.hpp"

namespace sluice::proxy {
namespace {

struct Feature {
  unsigned bit;
  const char* name;
};

// The kernel's IORING_FEAT_* bits, named as liburing's man pages do.
constexpr Feature kFeatures[] = {
    {IORING_FEAT_SINGLE_MMAP, "single-mmap"},
    {IORING_FEAT_NODROP, "nodrop"},
    {IORING_FEAT_SUBMIT_STABLE, "submit-stable"},
    {IORING_FEAT_RW_CUR_POS, "rw-cur-pos"},
    {IORING_FEAT_CUR_PERSONALITY, "cur-personality"},
    {IORING_FEAT_FAST_POLL, "fast-poll"},
    {IORING_FEAT_POLL_32BITS, "poll-32bits"},
    {IORING_FEAT_SQPOLL_NONFIXED, "sqpoll-nonfixed"},
    {IORING_FEAT_EXT_ARG, "ext-arg"},
    {IORING_FEAT_NATIVE_WORKERS, "native-workers"},
    {IORING_FEAT_RSRC_TAGS, "rsrc-tags"},
    {IORING_FEAT_CQE_SKIP, "cqe-skip"},
    {IORING_FEAT_LINKED_FILE, "linked-file"},
};

}  // namespace

std::string describe_io_uring_support() {
  utsname u{};
  std::string out = "kernel ";
  out += ::uname(&u) == 0 ? u.release : "(unknown)";
  out += ": ";
  Ring ring;
  if (std::string e = ring.init(16); !e.empty()) return out + e;
  out += "io_uring ";
  out += ring.mode();
  // Workers receive into provided buffer rings (Linux >= 5.19); without them sluice cannot run.
  BufferRing buffers;
  const std::string buffer_error = buffers.init(ring, 16, 1024);
  out += buffer_error.empty() ? ", buffer rings yes" : ", buffer rings no (" + buffer_error + ")";
  out += "; features:";
  const unsigned features = ring.raw()->features;
  for (const Feature& f : kFeatures)
    if (features & f.bit) (out += ' ') += f.name;
  // Bits newer than this liburing's header, in hex, so a report still says what is there.
  const unsigned known = (kFeatures[std::size(kFeatures) - 1].bit << 1) - 1;
  if (const unsigned newer = features & ~known; newer != 0) {
    char text[32];
    std::snprintf(text, sizeof text, " newer:0x%x", newer);
    out += text;
  }
  return out;
}

}  // namespace sluice::proxy
