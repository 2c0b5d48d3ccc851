// Tests of the json-file log selection behind GET /containers/{id}/logs, and the stats JSON.
#include "daemon/log_select.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "daemon/container_stats.h"

namespace berth::daemon {
namespace {

constexpr int64_t kSec = 1000000000;

LogEntry E(const std::string& stream, const std::string& log, int64_t t) {
  return LogEntry{stream, log, t, ""};
}

std::string Line(const std::string& stream, const std::string& log, const std::string& time) {
  return "{\"log\":\"" + log + "\\n\",\"stream\":\"" + stream + "\",\"time\":\"" + time + "\"}\n";
}

TEST(LogSelectTest, ParsesJsonFileLines) {
  auto e = ParseLogLine(
      R"({"log":"hello\n","stream":"stderr","time":"2026-11-28T05:37:10.123456789Z"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->stream, "stderr");
  EXPECT_EQ(e->log, "hello\n");
  EXPECT_EQ(e->time_nano, 1795844230 * kSec + 123456789);
  EXPECT_FALSE(ParseLogLine("not json"));
  EXPECT_FALSE(ParseLogLine(R"({"stream":"stdout"})"));
}

TEST(LogSelectTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339Nanos("1970-01-01T00:00:01Z"), kSec);
  EXPECT_EQ(ParseRfc3339Nanos("1970-01-01T00:00:01.5Z"), kSec + 500000000);
  EXPECT_EQ(ParseRfc3339Nanos("1970-01-01T01:00:01+01:00"), kSec);
  EXPECT_FALSE(ParseRfc3339Nanos("1970-01-01 00:00:01"));
  EXPECT_FALSE(ParseRfc3339Nanos("1970-01-01T00:00:01"));
  EXPECT_EQ(FormatRfc3339NanoFixed(kSec + 5), "1970-01-01T00:00:01.000000005Z");
  EXPECT_EQ(FormatRfc3339NanoFixed(1795844230 * kSec), "2026-11-28T05:37:10.000000000Z");
}

TEST(LogSelectTest, UnixTimestamps) {
  EXPECT_EQ(*ParseUnixTimestamp("12"), 12 * kSec);
  EXPECT_EQ(*ParseUnixTimestamp("12.000000001"), 12 * kSec + 1);
  EXPECT_EQ(*ParseUnixTimestamp("12.5"), 12 * kSec + 500000000);
  EXPECT_FALSE(ParseUnixTimestamp("x"));
  EXPECT_FALSE(ParseUnixTimestamp("1.x"));
}

TEST(LogSelectTest, ParsesQuery) {
  auto s = ParseLogSelection("1", "0", "10.5", "", "3", true);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->stdout_wanted);
  EXPECT_FALSE(s->stderr_wanted);
  EXPECT_EQ(s->since_nano, 10 * kSec + 500000000);
  EXPECT_EQ(s->until_nano, 0);
  EXPECT_EQ(s->tail, 3);
  EXPECT_TRUE(s->timestamps);
  EXPECT_EQ(ParseLogSelection("True", "", "", "", "all", false)->tail, -1);
  auto none = ParseLogSelection("0", "false", "", "", "", false);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "Bad parameters: you must choose at least one stream");
  EXPECT_FALSE(ParseLogSelection("1", "1", "bad", "", "", false));
}

TEST(LogSelectTest, TailThenWindowAndStreams) {
  std::vector<LogEntry> all = {E("stdout", "a\n", 1 * kSec), E("stderr", "b\n", 2 * kSec),
                               E("stdout", "c\n", 3 * kSec), E("stdout", "d\n", 4 * kSec)};
  LogSelection sel;
  EXPECT_EQ(SelectLogEntries(all, sel).size(), 4u);
  sel.tail = 2;
  auto got = SelectLogEntries(all, sel);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].log, "c\n");
  EXPECT_EQ(got[1].log, "d\n");
  sel.tail = 0;
  EXPECT_TRUE(SelectLogEntries(all, sel).empty());
  // Tail first, the window after: the last 3 are b c d, since 3 s leaves c d.
  sel.tail = 3;
  sel.since_nano = 3 * kSec;
  got = SelectLogEntries(all, sel);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].log, "c\n");
  sel = LogSelection{};
  sel.until_nano = 2 * kSec;
  sel.stdout_wanted = false;
  got = SelectLogEntries(all, sel);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].log, "b\n");
}

TEST(LogSelectTest, Frames) {
  LogSelection sel;
  EXPECT_EQ(FrameLogEntry(E("stdout", "hi\n", 0), sel), std::string("\1\0\0\0\0\0\0\3hi\n", 11));
  EXPECT_EQ(FrameLogEntry(E("stderr", "e\n", 0), sel), std::string("\2\0\0\0\0\0\0\2e\n", 10));
  sel.tty = true;
  sel.timestamps = true;
  EXPECT_EQ(FrameLogEntry(E("stdout", "x\n", kSec), sel), "1970-01-01T00:00:01.000000000Z x\n");
  // --details: the attrs and a space after the timestamp (a lone space without attrs).
  sel.details = true;
  EXPECT_EQ(FrameLogEntry(E("stdout", "x\n", kSec), sel), "1970-01-01T00:00:01.000000000Z  x\n");
  LogEntry with = *ParseLogLine(R"({"log":"y\n","stream":"stdout","attrs":{"z":"1","a":"b"}})");
  EXPECT_EQ(with.attrs, "a=b,z=1");
  sel.timestamps = false;
  EXPECT_EQ(FrameLogEntry(with, sel), "a=b,z=1 y\n");
}

class JsonLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/logsel-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
    path_ = dir_ + "/c-json.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& file, const std::string& text) {
    std::ofstream(file, std::ios::app) << text;
  }
  std::string dir_, path_;
};

TEST_F(JsonLogReaderTest, ReadsRotatedFilesOldestFirstThenFollows) {
  Append(path_ + ".2", Line("stdout", "one", "1970-01-01T00:00:01Z"));
  Append(path_ + ".1", Line("stdout", "two", "1970-01-01T00:00:02Z"));
  Append(path_, Line("stderr", "three", "1970-01-01T00:00:03Z"));
  JsonLogReader reader(path_);
  auto all = reader.ReadAll();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].log, "one\n");
  EXPECT_EQ(all[1].log, "two\n");
  EXPECT_EQ(all[2].log, "three\n");
  EXPECT_TRUE(reader.Poll().empty());

  // A half-written line waits for its end.
  std::string four = Line("stdout", "four", "1970-01-01T00:00:04Z");
  Append(path_, four.substr(0, 10));
  EXPECT_TRUE(reader.Poll().empty());
  Append(path_, four.substr(10));
  auto got = reader.Poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].log, "four\n");

  // Rotation: the rest of the old file, then the new one.
  Append(path_, Line("stdout", "five", "1970-01-01T00:00:05Z"));
  ASSERT_EQ(rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  Append(path_, Line("stdout", "six", "1970-01-01T00:00:06Z"));
  got = reader.Poll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].log, "five\n");
  EXPECT_EQ(got[1].log, "six\n");

  // Truncation (max-file 1): start over.
  ASSERT_EQ(truncate(path_.c_str(), 0), 0);
  Append(path_, Line("stdout", "7", "1970-01-01T00:00:07Z"));
  got = reader.Poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].log, "7\n");
}

TEST_F(JsonLogReaderTest, MissingFileIsEmptyUntilCreated) {
  JsonLogReader reader(path_);
  EXPECT_TRUE(reader.ReadAll().empty());
  EXPECT_TRUE(reader.Poll().empty());
  Append(path_, Line("stdout", "late", "1970-01-01T00:00:01Z"));
  auto got = reader.Poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].log, "late\n");
}

TEST(StatsJsonTest, ZeroedForStoppedContainers) {
  auto j = StatsJson(nullptr, nullptr, "c1", "abc", 1 << 30);
  EXPECT_EQ(j["name"], "/c1");
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["read"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["total_usage"], 0);
  EXPECT_TRUE(j["memory_stats"].empty());
  EXPECT_FALSE(j.contains("networks"));
}

TEST(StatsJsonTest, SampleFields) {
  StatsSample pre, cur;
  pre.read_nano = 1 * kSec;
  cur.read_nano = 2 * kSec;
  pre.cgroup.cpu.usage_total_ns = 100;
  cur.cgroup.cpu.usage_total_ns = 300;
  cur.cgroup.cpu.usage_per_cpu_ns = {100, 200};
  cur.system_cpu_ns = 5000;
  cur.online_cpus = 2;
  cur.cgroup.memory.usage = 4096;
  cur.cgroup.memory.raw["total_inactive_file"] = 1024;
  cur.cgroup.pids.current = 3;
  cur.cgroup.blkio.push_back({.major = 8, .minor = 0, .read_bytes = 10, .write_bytes = 20});
  cur.networks["eth0"].rx_bytes = 7;
  auto j = StatsJson(&cur, &pre, "c1", "abc", 1 << 30);
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["total_usage"], 300);
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["percpu_usage"].size(), 2u);
  EXPECT_EQ(j["cpu_stats"]["online_cpus"], 2);
  EXPECT_EQ(j["precpu_stats"]["cpu_usage"]["total_usage"], 100);
  EXPECT_EQ(j["memory_stats"]["usage"], 4096);
  EXPECT_EQ(j["memory_stats"]["stats"]["total_inactive_file"], 1024);
  // No cgroup limit: the machine's memory, as dockerd reports it.
  EXPECT_EQ(j["memory_stats"]["limit"], 1 << 30);
  EXPECT_EQ(j["pids_stats"]["current"], 3);
  EXPECT_FALSE(j["pids_stats"].contains("limit"));
  EXPECT_EQ(j["blkio_stats"]["io_service_bytes_recursive"][0]["op"], "Read");
  EXPECT_EQ(j["blkio_stats"]["io_service_bytes_recursive"][1]["value"], 20);
  EXPECT_EQ(j["networks"]["eth0"]["rx_bytes"], 7);
}

TEST(StatsJsonTest, ProcFiles) {
  auto nets = ParseNetDev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     100       2    0    0    0     0          0         0      100       2    0 "
      "   0    0     0       0          0\n"
      "  eth0:    1500      10    1    2    0     0          0         0      900       8    3 "
      "   4    0     0       0          0\n");
  ASSERT_EQ(nets.size(), 1u);
  EXPECT_EQ(nets["eth0"].rx_bytes, 1500u);
  EXPECT_EQ(nets["eth0"].rx_dropped, 2u);
  EXPECT_EQ(nets["eth0"].tx_packets, 8u);
  EXPECT_EQ(nets["eth0"].tx_dropped, 4u);
  auto [ns, cpus] = ParseProcStat(
      "cpu  1 1 1 1 1 1 1 5 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\nintr 5\n");
  EXPECT_EQ(cpus, 2u);
  EXPECT_EQ(ns, 7u * (1000000000u / uint64_t(sysconf(_SC_CLK_TCK))));
}

}  // namespace
}  // namespace berth::daemon
