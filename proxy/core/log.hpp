// Leveled logging to stderr. Any thread may log; each line is written with one
// write(2), so lines from different threads never interleave. Workers log only
// on rare events (errors, setup), never per request.
#pragma once

#include <atomic>

namespace sluice::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

// text: "<UTC time> <level> <message>", each line of a multi-line message prefixed so that
// no line lacks its time; json: {"time":...,"level":...,"msg":...}, one line per message.
enum class Format { text, json };

void set_level(Level level);
void set_format(Format format);
bool enabled(Level level);
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// For errors that can repeat per connection (descriptor exhaustion): true at
// most once a second per call site and thread, so a flood costs one line.
class Throttle {
 public:
  bool allow();

 private:
  long last_second_ = -1;
};

}  // namespace sluice::log

#define SLUICE_LOG(level, ...)                                                   \
  do {                                                                           \
    if (::sluice::log::enabled(level)) ::sluice::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) SLUICE_LOG(::sluice::log::Level::debug, __VA_ARGS__)
#define LOG_INFO(...) SLUICE_LOG(::sluice::log::Level::info, __VA_ARGS__)
#define LOG_WARN(...) SLUICE_LOG(::sluice::log::Level::warn, __VA_ARGS__)
#define LOG_ERROR(...) SLUICE_LOG(::sluice::log::Level::error, __VA_ARGS__)
#define LOG_ERROR_THROTTLED(...)                                  \
  do {                                                            \
    static thread_local ::sluice::log::Throttle sluice_throttle_; \
    if (sluice_throttle_.allow()) LOG_ERROR(__VA_ARGS__);         \
  } while (0)
// The same for warnings that can come once per connection (an unreachable cluster).
#define LOG_WARN_THROTTLED(...)                                   \
  do {                                                            \
    static thread_local ::sluice::log::Throttle sluice_throttle_; \
    if (sluice_throttle_.allow()) LOG_WARN(__VA_ARGS__);          \
  } while (0)
