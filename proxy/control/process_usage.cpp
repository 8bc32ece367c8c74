#include "proxy/control/process_usage.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace sluice::proxy {
namespace {

// /proc/self/stat: utime and stime (fields 14, 15, clock ticks), vsize (23, bytes) and rss
// (24, pages). Field 2, the command, is in parentheses and may hold spaces: count from the
// last ')'.
void read_stat(metrics::ProcessUsage& u) {
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (f == nullptr) return;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return;
  unsigned long utime = 0, stime = 0, vsize = 0;
  long rss = 0;
  // After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15) cutime cstime priority nice num_threads itrealvalue starttime(22)
  // vsize(23) rss(24).
  if (std::sscanf(p + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                  "%*u %lu %ld",
                  &utime, &stime, &vsize, &rss) != 4)
    return;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  u.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  u.virtual_bytes = static_cast<double>(vsize);
  u.resident_bytes = static_cast<double>(rss) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  double count = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++count;
  ::closedir(d);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace

metrics::ProcessUsage read_process_usage() {
  metrics::ProcessUsage u;
  read_stat(u);
  u.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
    u.max_fds = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur);
  return u;
}

}  // namespace sluice::proxy
