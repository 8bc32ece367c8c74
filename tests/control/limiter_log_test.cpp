// LimiterLog: one warning when a global limit starts deciding by on_error, a reminder a
// minute later with the counts since, one line when Redis answers again, nothing otherwise.
#include "proxy/control/limiter_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

using std::chrono::seconds;

struct Lines {
  std::vector<std::pair<log::Level, std::string>> all;
  LimiterLog::Sink sink() {
    return [this](log::Level l, const std::string& s) { all.emplace_back(l, s); };
  }
};

TEST(LimiterLogTest, NothingWhileRedisAnswers) {
  Lines lines;
  LimiterLog log(lines.sink());
  const auto t0 = LimiterLog::Clock::time_point{};
  std::vector<LimiterLog::Policy> p = {{"api", 0, 0}};
  for (int i = 0; i < 100; ++i) log.observe(p, true, t0 + seconds(i));
  EXPECT_TRUE(lines.all.empty());
}

TEST(LimiterLogTest, OneLinePerChangeAndAReminderWhileItLasts) {
  Lines lines;
  LimiterLog log(lines.sink());
  const auto t0 = LimiterLog::Clock::time_point{} + seconds(1000);
  log.observe(std::vector<LimiterLog::Policy>{{"api", 0, 0}}, true, t0);
  // Redis goes away: 5 requests admitted by on_error: allow.
  log.observe(std::vector<LimiterLog::Policy>{{"api", 5, 0}}, false, t0 + seconds(1));
  ASSERT_EQ(lines.all.size(), 1u);
  EXPECT_EQ(lines.all[0].first, log::Level::warn);
  EXPECT_EQ(lines.all[0].second,
            "rate limit 'api': Redis cannot be asked; on_error decides: 5 admitted without a "
            "global count (failing open), 0 refused (failing closed) so far");
  // More of the same: no new line until the reminder is due.
  for (int i = 2; i < 61; ++i)
    log.observe(std::vector<LimiterLog::Policy>{{"api", 5 + uint64_t(i), 0}}, false,
                t0 + seconds(i));
  EXPECT_EQ(lines.all.size(), 1u);
  log.observe(std::vector<LimiterLog::Policy>{{"api", 100, 0}}, false, t0 + seconds(61));
  ASSERT_EQ(lines.all.size(), 2u);
  EXPECT_EQ(lines.all[1].second,
            "rate limit 'api': on_error still decides: 95 admitted without a global count "
            "(failing open), 0 refused (failing closed) in the last minute");
  // Redis is back and on_error stops deciding.
  log.observe(std::vector<LimiterLog::Policy>{{"api", 110, 0}}, true, t0 + seconds(62));
  log.observe(std::vector<LimiterLog::Policy>{{"api", 110, 0}}, true, t0 + seconds(63));
  ASSERT_EQ(lines.all.size(), 3u);
  EXPECT_EQ(lines.all[2].first, log::Level::info);
  EXPECT_EQ(lines.all[2].second,
            "rate limit 'api': Redis answers; counting globally again (on_error decided 10 "
            "admitted without a global count (failing open), 0 refused (failing closed) since "
            "the last report)");
  log.observe(std::vector<LimiterLog::Policy>{{"api", 110, 0}}, true, t0 + seconds(200));
  EXPECT_EQ(lines.all.size(), 3u);
}

TEST(LimiterLogTest, FailingClosedIsReportedToo) {
  Lines lines;
  LimiterLog log(lines.sink());
  const auto t0 = LimiterLog::Clock::time_point{};
  // Redis never answered: nothing until it is known to be down, then every decision counts.
  log.observe(std::vector<LimiterLog::Policy>{{"login", 0, 1}}, std::nullopt, t0);
  EXPECT_TRUE(lines.all.empty());
  log.observe(std::vector<LimiterLog::Policy>{{"login", 0, 3}}, false, t0 + seconds(1));
  ASSERT_EQ(lines.all.size(), 1u);
  EXPECT_NE(lines.all[0].second.find("0 admitted without a global count (failing open), 3 "
                                     "refused (failing closed)"),
            std::string::npos)
      << lines.all[0].second;
}

TEST(LimiterLogTest, DecisionsBeforeRedisFirstAnswersAreNoNews) {
  Lines lines;
  LimiterLog log(lines.sink());
  const auto t0 = LimiterLog::Clock::time_point{};
  // The first requests of a start, before the first Redis answer, are decided by on_error.
  log.observe(std::vector<LimiterLog::Policy>{{"api", 4, 0}}, std::nullopt, t0);
  log.observe(std::vector<LimiterLog::Policy>{{"api", 4, 0}}, true, t0 + seconds(1));
  log.observe(std::vector<LimiterLog::Policy>{{"api", 4, 0}}, true, t0 + seconds(2));
  EXPECT_TRUE(lines.all.empty());
}

}  // namespace
}  // namespace sluice::proxy
