// json-file log: line splitting, escaping, time format and rotation.
#include "shim/json_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <vector>

#include "sys/file.h"

namespace berth::shim {
namespace {

std::vector<std::string> Split(LineSplitter& s, std::string_view data) {
  std::vector<std::string> out;
  s.Feed(data, [&](std::string_view l) { out.emplace_back(l); });
  return out;
}

TEST(LineSplitter, SplitsOnNewlines) {
  LineSplitter s;
  EXPECT_EQ(Split(s, "a\nbc"), std::vector<std::string>{"a\n"});
  EXPECT_EQ(Split(s, "d\n\ne"), (std::vector<std::string>{"bcd\n", "\n"}));
  std::vector<std::string> rest;
  s.Flush([&](std::string_view l) { rest.emplace_back(l); });
  EXPECT_EQ(rest, std::vector<std::string>{"e"});
}

TEST(LineSplitter, CutsLongLines) {
  LineSplitter s;
  std::string big(LineSplitter::kMaxLine + 10, 'x');
  auto lines = Split(s, big + "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), LineSplitter::kMaxLine);
  EXPECT_EQ(lines[1], std::string(10, 'x') + "\n");
}

TEST(FormatLogTime, TrimsZerosLikeGo) {
  char buf[40];
  EXPECT_EQ(FormatLogTime({0, 0}, buf), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatLogTime({1, 120000000}, buf), "1970-01-01T00:00:01.12Z");
  EXPECT_EQ(FormatLogTime({1, 123456789}, buf), "1970-01-01T00:00:01.123456789Z");
}

TEST(FormatLogTime, CivilDatesInUtc) {
  char buf[40];
  EXPECT_EQ(FormatLogTime({951782400, 0}, buf), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatLogTime({1796399639, 500000000}, buf), "2026-12-04T15:53:59.5Z");
}

TEST(AppendJsonString, EscapesAndReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString(out, "a\"b\\\n\x01 \xc3\xa9");
  EXPECT_EQ(out, "a\\\"b\\\\\\n\\u0001 \xc3\xa9");
  out.clear();
  AppendJsonString(out,
                   "x\xff"
                   "y\xc3");
  EXPECT_EQ(out, "x\xEF\xBF\xBDy\xEF\xBF\xBD");
}

TEST(JsonFileLog, WritesAndRotates) {
  char tmpl[] = "/tmp/shim-log-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, path = dir + "/c.log";
  auto log = JsonFileLog::Open({path, 100, 3});
  ASSERT_TRUE(log) << log.error().message();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Write("stdout", "hello world\n", {1, 5}));
  auto text = sys::ReadFile(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->substr(0, text->find('\n') + 1),
            "{\"log\":\"hello world\\n\",\"stream\":\"stdout\","
            "\"time\":\"1970-01-01T00:00:01.000000005Z\"}\n");
  EXPECT_TRUE(sys::Exists(path + ".1"));
  EXPECT_TRUE(sys::Exists(path + ".2"));
  EXPECT_FALSE(sys::Exists(path + ".3"));
  // Rotation happens once a file reached max_size: no file holds more than one entry past it.
  for (auto p : {path, path + ".1", path + ".2"}) EXPECT_LT(sys::ReadFile(p)->size(), 200u);
  (void)sys::RemoveAll(dir);
}

TEST(JsonFileLog, MaxFileOneTruncates) {
  char tmpl[] = "/tmp/shim-log-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, path = dir + "/c.log";
  auto log = JsonFileLog::Open({path, 50, 1});
  ASSERT_TRUE(log);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Write("stderr", "0123456789\n", {0, 0}));
  EXPECT_FALSE(sys::Exists(path + ".1"));
  EXPECT_LT(sys::ReadFile(path)->size(), 100u);
  (void)sys::RemoveAll(dir);
}

}  // namespace
}  // namespace berth::shim
