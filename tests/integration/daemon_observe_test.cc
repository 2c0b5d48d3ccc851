// Integration tests of the observing and managing container routes: logs (tail, timestamps,
// since/until, follow), top, stats, pause/unpause, rename, restart, update, prune and /events,
// against the real berthd (with berth-shim next to it) on temporary roots, an image made with
// `docker import` from a busybox-static rootfs, driven by the docker CLI
// (/usr/local/bin/docker). Needs root (overlay mounts, namespaces, cgroups).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "berthd_fixture.h"
#include "client/client.h"
#include "test_support.h"

namespace berth {
namespace {
using berth::test_support::ReadAll;
using berth::test_support::Shell;
using berth::test_support::Spawn;
using nlohmann::json;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kDocker = "/usr/local/bin/docker";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

int64_t NowSecs() { return int64_t(time(nullptr)); }

class DaemonObserveTest : public test_support::BerthdFixture {
 protected:
  DaemonObserveTest() : BerthdFixture("/tmp/bob-", true) {}

  // The container's v1 cgroup directory for `subsystem` (from the runtime's state).
  std::string CgroupDir(const std::string& id, const std::string& subsystem) {
    json state = json::parse(ReadAll(dir_ + "/e/runtime/" + id + "/state.json"), nullptr, false);
    if (!state.is_object()) return "";
    for (const auto& [key, value] : state.items()) {
      if (!value.is_object() || !value.contains(subsystem)) continue;
      if (value[subsystem].is_string()) return value[subsystem].get<std::string>();
    }
    return "";
  }
  std::string Inspect(const std::string& format, const std::string& name) {
    auto [rc, out] = Docker("inspect -f '" + format + "' " + name);
    return out;
  }
};

TEST_F(DaemonObserveTest, LogsTailTimestampsSinceUntilFollow) {
  auto [rc, out] = Docker(
      "run -d --name lg busybox sh -c 'echo one; echo two; echo three >&2; sleep 3; echo four'");
  ASSERT_EQ(rc, 0) << out << Log();
  // Follow: everything, then the line written 3 s later, then the end with the container.
  auto start = std::chrono::steady_clock::now();
  std::tie(rc, out) = Shell("(" + env_ + "timeout 30 " + kDocker + " logs -f lg 2>/dev/null)");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "one\ntwo\nfour\n");
  EXPECT_GT(took, 1s);
  std::tie(rc, out) = Docker("wait lg");
  ASSERT_EQ(out, "0\n");

  std::tie(rc, out) = Shell("(" + env_ + kDocker + " logs --tail 2 lg 2>&1 >/dev/null)");
  EXPECT_EQ(out, "three\n");
  std::tie(rc, out) = Docker("logs --tail 1 lg");
  EXPECT_EQ(out, "four\n");
  std::tie(rc, out) = Docker("logs --tail 0 lg");
  EXPECT_EQ(out, "");

  std::tie(rc, out) = Shell("(" + env_ + kDocker + " logs -t lg 2>/dev/null)");
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u) << out;
  std::regex stamped(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two|four)$)");
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, stamped)) << l;
  std::string ts_one = lines[0].substr(0, lines[0].find(' '));
  std::string ts_four = lines[2].substr(0, lines[2].find(' '));
  std::tie(rc, out) = Docker("logs --since " + ts_four + " lg");
  EXPECT_EQ(out, "four\n");
  std::tie(rc, out) = Docker("logs --until " + ts_one + " lg");
  EXPECT_EQ(out, "one\n");
  std::tie(rc, out) = Docker("logs --since " + std::to_string(NowSecs() + 60) + " lg");
  EXPECT_EQ(out, "");

  // Follow of a stopped container returns at once with what is there.
  std::tie(rc, out) = Shell(env_ + "timeout 10 " + kDocker + " logs -f --tail 1 lg");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "four\n");

  // A TTY container's log is raw (no frames).
  std::tie(rc, out) = Docker("run -d -t --name lt busybox echo tty-line");
  std::tie(rc, out) = Docker("wait lt");
  std::tie(rc, out) = Docker("logs lt");
  EXPECT_NE(out.find("tty-line"), std::string::npos) << out;
}

TEST_F(DaemonObserveTest, TopAndStats) {
  auto [rc, out] = Docker("run -d --name tp busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("top tp");
  ASSERT_EQ(rc, 0) << out << Log();
  std::vector<std::string> lines = Lines(out);
  ASSERT_GE(lines.size(), 2u) << out;
  std::regex header(R"(^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\s*$)");
  EXPECT_TRUE(std::regex_match(lines[0], header)) << lines[0];
  EXPECT_EQ(lines.size(), 2u) << out;  // only the container's process
  EXPECT_NE(lines[1].find("sleep 100"), std::string::npos) << out;
  std::tie(rc, out) = Docker("top tp -o pid,comm");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("COMMAND"), std::string::npos) << out;
  EXPECT_NE(out.find("sleep"), std::string::npos) << out;

  std::tie(rc, out) =
      Docker("stats --no-stream --format '{{.Name}}|{{.MemUsage}}|{{.CPUPerc}}|{{.PIDs}}' tp");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("tp|", 0), 0u) << out;
  EXPECT_EQ(out.find("|0B /"), std::string::npos) << out;
  EXPECT_NE(out.find("|1\n"), std::string::npos) << out;
  std::tie(rc, out) = Docker("stats --no-stream tp");
  EXPECT_NE(out.find("MEM USAGE"), std::string::npos) << out;
  EXPECT_NE(out.find("tp"), std::string::npos) << out;

  auto r = client_->Get("/v1.41/containers/tp/stats?stream=0");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json s = json::parse(r->body);
  EXPECT_EQ(s["name"], "/tp");
  EXPECT_EQ(s["id"], Id("tp"));
  EXPECT_GT(s["memory_stats"]["usage"].get<uint64_t>(), 0u);
  EXPECT_GT(s["memory_stats"]["limit"].get<uint64_t>(), 0u);
  EXPECT_GT(s["cpu_stats"]["system_cpu_usage"].get<uint64_t>(),
            s["precpu_stats"]["system_cpu_usage"].get<uint64_t>());
  EXPECT_GT(s["cpu_stats"]["online_cpus"].get<int>(), 0);
  EXPECT_EQ(s["pids_stats"]["current"], 1);
  EXPECT_TRUE(s["blkio_stats"].contains("io_service_bytes_recursive"));

  // Streamed: one object per second until the client leaves.
  std::tie(rc, out) = Shell("curl -sN --max-time 3.5 --unix-socket " + sock_ +
                            " http://x/v1.41/containers/tp/stats 2>/dev/null");
  std::vector<std::string> objects = Lines(out);
  EXPECT_GE(objects.size(), 3u) << out;
  EXPECT_LE(objects.size(), 5u) << out;
  for (const auto& o : objects) {
    json j = json::parse(o, nullptr, false);
    EXPECT_TRUE(j.is_object() && j["name"] == "/tp") << o;
  }

  std::tie(rc, out) = Docker("stop -t 0 tp");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("top tp");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("is not running"), std::string::npos) << out;
  r = client_->Get("/v1.41/containers/tp/stats?stream=0");
  ASSERT_TRUE(r);
  s = json::parse(r->body);
  EXPECT_EQ(s["read"], "0001-01-01T00:00:00Z") << r->body;
  EXPECT_EQ(s["name"], "/tp");
}

TEST_F(DaemonObserveTest, PauseUnpause) {
  auto [rc, out] = Docker("run -d --name pz busybox sh -c 'while true; do sleep 0.1; done'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = Id("pz");
  std::tie(rc, out) = Docker("pause pz");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Inspect("{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "pz"),
            "paused true true\n");
  std::string freezer = CgroupDir(id, "freezer");
  if (!freezer.empty()) {
    EXPECT_EQ(ReadAll(freezer + "/freezer.state"), "FROZEN\n");
  }
  std::tie(rc, out) = Docker("ps --format '{{.Names}} {{.Status}}'");
  EXPECT_NE(out.find("pz Up"), std::string::npos) << out;
  EXPECT_NE(out.find("(Paused)"), std::string::npos) << out;
  std::tie(rc, out) = Docker("pause pz");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Container " + id + " is already paused"), std::string::npos) << out;

  std::tie(rc, out) = Docker("unpause pz");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Inspect("{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "pz"),
            "running false true\n");
  if (!freezer.empty()) {
    EXPECT_EQ(ReadAll(freezer + "/freezer.state"), "THAWED\n");
  }
  std::tie(rc, out) = Docker("unpause pz");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Container " + id + " is not paused"), std::string::npos) << out;

  // A paused container still stops (thawed after the signal).
  std::tie(rc, out) = Docker("pause pz");
  ASSERT_EQ(rc, 0) << out;
  auto start = std::chrono::steady_clock::now();
  std::tie(rc, out) = Docker("stop -t 1 pz");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_EQ(Inspect("{{.State.Status}} {{.State.Paused}}", "pz"), "exited false\n");
  std::tie(rc, out) = Docker("pause pz");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("is not running"), std::string::npos) << out;
}

// Docker: start of a paused container is a 409; kill of one ends it (thawed after SIGKILL).
TEST_F(DaemonObserveTest, PausedContainerStartConflictsAndKillEndsIt) {
  auto [rc, out] = Docker("run -d --name pk busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("pause pk");
  ASSERT_EQ(rc, 0) << out << Log();
  auto r = client_->Post("/containers/pk/start");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_NE(r->body.find("cannot start a paused container, try unpause instead"), std::string::npos)
      << r->body;
  std::tie(rc, out) = Docker("kill pk");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("wait pk");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "137\n");
  EXPECT_EQ(Inspect("{{.State.Status}} {{.State.Paused}}", "pk"), "exited false\n");
}

// Reads a hijacked stream to its end and splits its multiplexed frames by stream type.
std::pair<std::string, std::string> ReadFrames(client::Connection& c) {
  std::string data = c.buffered();
  char buf[4096];
  for (ssize_t n; (n = read(c.fd(), buf, sizeof buf)) > 0;) data.append(buf, size_t(n));
  std::string out, err;
  size_t at = 0;
  while (at + 8 <= data.size()) {
    auto byte = [&](size_t i) { return uint32_t(static_cast<unsigned char>(data[at + i])); };
    uint32_t n = (byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7);
    (data[at] == 2 ? err : out) += data.substr(at + 8, n);
    at += 8 + n;
  }
  return {out, err};
}

// attach with logs=1 replays the log (of the streams asked for); stdout=0 / stderr=0 select the
// live streams too.
TEST_F(DaemonObserveTest, AttachLogsReplayAndStreamSelection) {
  auto [rc, out] = Docker("run --name al busybox sh -c 'echo out1; echo err1 >&2; echo out2'");
  ASSERT_EQ(rc, 0) << out << Log();
  {
    auto c = client_->Hijack("POST", "/containers/al/attach?logs=1&stdout=1&stderr=1");
    ASSERT_TRUE(c) << c.error().message();
    auto [o, e] = ReadFrames(*c);
    EXPECT_EQ(o, "out1\nout2\n");
    EXPECT_EQ(e, "err1\n");
  }
  {
    auto c = client_->Hijack("POST", "/containers/al/attach?logs=1&stdout=0&stderr=1");
    ASSERT_TRUE(c) << c.error().message();
    auto [o, e] = ReadFrames(*c);
    EXPECT_EQ(o, "");
    EXPECT_EQ(e, "err1\n");
  }
  // logs --details: the (empty) attrs and a space before each line, as dockerd.
  std::tie(rc, out) = Shell("(" + env_ + kDocker + " logs --details al 2>/dev/null)");
  EXPECT_EQ(out, " out1\n out2\n");
  // Live: a running container writing to both streams, attached for stdout only; it ends on
  // its own after a few lines.
  std::tie(rc, out) = Docker(
      "run -d --name al2 busybox sh -c 'sleep 2; for i in 1 2 3; do echo o$i; echo e$i >&2; "
      "done'");
  ASSERT_EQ(rc, 0) << out << Log();
  auto c = client_->Hijack("POST", "/containers/al2/attach?stream=1&stdout=1&stderr=0");
  ASSERT_TRUE(c) << c.error().message();
  auto [o, e] = ReadFrames(*c);
  EXPECT_EQ(e, "");
  // Lines written before the attach landed are not in a stream-only attach (as Docker).
  EXPECT_NE(o.find("o3\n"), std::string::npos) << o;
  EXPECT_EQ(o.find('e'), std::string::npos) << o;
}

TEST_F(DaemonObserveTest, RenameRestartUpdate) {
  auto [rc, out] = Docker("run -d --name rn busybox sh -c 'echo started; sleep 100'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = Id("rn");
  std::tie(rc, out) = Docker("create --name other busybox true");
  ASSERT_EQ(rc, 0) << out;

  std::tie(rc, out) = Docker("rename rn rs");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Inspect("{{.Name}}", id), "/rs\n");
  std::tie(rc, out) = Docker("inspect rn");
  EXPECT_NE(rc, 0);
  std::tie(rc, out) = Docker("rename rs other");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Conflict. The container name \"/other\" is already in use"),
            std::string::npos)
      << out;
  std::tie(rc, out) = Docker("rename rs 'bad/name'");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Invalid container name (bad/name)"), std::string::npos) << out;
  // The old name is free again.
  std::tie(rc, out) = Docker("create --name rn busybox true");
  EXPECT_EQ(rc, 0) << out;

  std::string started = Inspect("{{.State.StartedAt}}", "rs");
  std::tie(rc, out) = Docker("restart -t 1 rs");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Inspect("{{.State.Status}}", "rs"), "running\n");
  EXPECT_NE(Inspect("{{.State.StartedAt}}", "rs"), started);
  std::tie(rc, out) = Docker("logs rs");
  EXPECT_EQ(out, "started\nstarted\n");
  // Restart of a stopped container starts it.
  std::tie(rc, out) = Docker("stop -t 0 rs");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("restart rs");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Inspect("{{.State.Status}}", "rs"), "running\n");

  // update: dockerd refuses a memory limit above the swap limit in force (none: 0).
  std::tie(rc, out) = Docker("update --memory 64m rs");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Memory limit should be smaller than already set memoryswap limit"),
            std::string::npos)
      << out;
  std::tie(rc, out) = Docker("update --memory 64m --memory-swap 128m --cpu-shares 512 rs");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(
      Inspect("{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}}", "rs"),
      "67108864 134217728 512\n");
  std::string memory = CgroupDir(id, "memory");
  ASSERT_FALSE(memory.empty()) << ReadAll(dir_ + "/e/runtime/" + id + "/state.json");
  EXPECT_EQ(ReadAll(memory + "/memory.limit_in_bytes"), "67108864\n");
  std::string cpu = CgroupDir(id, "cpu");
  if (!cpu.empty()) {
    EXPECT_EQ(ReadAll(cpu + "/cpu.shares"), "512\n");
  }
  // The limits outlive a restart (they are in the bundle too).
  std::tie(rc, out) = Docker("restart -t 0 rs");
  ASSERT_EQ(rc, 0) << out << Log();
  memory = CgroupDir(id, "memory");
  EXPECT_EQ(ReadAll(memory + "/memory.limit_in_bytes"), "67108864\n");
  std::tie(rc, out) = Docker("update --pids-limit 50 rs");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Inspect("{{.HostConfig.PidsLimit}}", "rs"), "50\n");
  std::string pids = CgroupDir(id, "pids");
  if (!pids.empty()) {
    EXPECT_EQ(ReadAll(pids + "/pids.max"), "50\n");
  }
}

TEST_F(DaemonObserveTest, Prune) {
  auto [rc, out] = Docker("create --name p1 busybox true");
  ASSERT_EQ(rc, 0) << out;
  std::string p1 = Id("p1");
  std::tie(rc, out) = Docker("run -d --name p2 --label keep=yes busybox sh -c 'echo x > /file'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("wait p2");
  ASSERT_EQ(out, "0\n") << Log();
  std::string p2 = Id("p2");
  std::tie(rc, out) = Docker("run -d --name p3 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out;

  std::tie(rc, out) = Docker("container prune -f --filter label=nothing");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("Total reclaimed space: 0B"), std::string::npos) << out;
  std::tie(rc, out) = Docker("container prune -f --filter label=keep=yes");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find(p2), std::string::npos) << out;
  EXPECT_EQ(out.find(p1), std::string::npos) << out;
  std::tie(rc, out) = Docker("container prune -f --filter until=1h");
  EXPECT_EQ(out.find(p1), std::string::npos) << out;  // created less than an hour ago
  std::tie(rc, out) = Docker("container prune -f");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find(p1), std::string::npos) << out;
  std::tie(rc, out) = Docker("ps -a --format '{{.Names}}'");
  EXPECT_EQ(out, "p3\n");
  EXPECT_FALSE(fs::exists(dir_ + "/d/containers/" + p1));
  auto r = client_->Post("/v1.41/containers/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
}

TEST_F(DaemonObserveTest, Events) {
  // Early enough for the image import of SetUp.
  std::string t0 = std::to_string(NowSecs() - 30);
  // A live stream that ends by itself at `until`, while the actions below happen.
  std::string live = dir_ + "/live.txt";
  std::string until = std::to_string(NowSecs() + 12);
  Shell("(" + env_ + kDocker + " events --since " + t0 + " --until " + until +
        " --filter container=ev --format '{{.Type}} {{.Action}}' > " + live + " 2>&1 &)");
  std::this_thread::sleep_for(500ms);

  auto [rc, out] = Docker("run -d --name ev --label tier=web busybox true");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("wait ev");
  ASSERT_EQ(out, "0\n") << Log();
  std::string id = Id("ev");
  std::tie(rc, out) = Docker("rename ev ev2");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("rename ev2 ev");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("rm ev");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("run -d --name ev3 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("pause ev3");
  std::tie(rc, out) = Docker("unpause ev3");
  std::tie(rc, out) = Docker("update --cpu-shares 256 ev3");
  std::tie(rc, out) = Docker("restart -t 0 ev3");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("rm -f ev3");
  std::tie(rc, out) = Docker("container prune -f");
  std::tie(rc, out) = Docker("tag busybox:latest busybox:ev");
  std::tie(rc, out) = Docker("rmi busybox:ev");
  std::string t1 = std::to_string(NowSecs() + 1);
  std::this_thread::sleep_for(1100ms);

  // The past, by container name: the lifecycle in order.
  std::tie(rc, out) = Docker("events --since " + t0 + " --until " + t1 +
                             " --filter container=ev --format '{{.Type}} {{.Action}} "
                             "{{.Actor.Attributes.name}} {{.Actor.Attributes.tier}}'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::vector<std::string> want = {"container create ev web", "container start ev web",
                                   "container die ev web", "container destroy ev web"};
  size_t pos = 0;
  for (const auto& w : want) {
    size_t at = out.find(w, pos);
    EXPECT_NE(at, std::string::npos) << w << " in\n" << out;
    if (at != std::string::npos) pos = at;
  }
  EXPECT_NE(out.find("container rename ev web"), std::string::npos) << out;

  // By event and type; every container action of this file is there.
  std::tie(rc, out) = Docker("events --since " + t0 + " --until " + t1 +
                             " --filter type=container --filter event=start --format "
                             "'{{.Action}} {{.Actor.Attributes.name}}'");
  EXPECT_EQ(out, "start ev\nstart ev3\nstart ev3\n") << out;
  std::tie(rc, out) = Docker("events --since " + t0 + " --until " + t1 +
                             " --filter container=ev3 --format '{{.Action}}'");
  for (const char* action : {"pause", "unpause", "update", "stop", "restart", "destroy"})
    EXPECT_NE(out.find(std::string(action) + "\n"), std::string::npos) << action << ":\n" << out;
  std::tie(rc, out) = Docker("events --since " + t0 + " --until " + t1 +
                             " --filter label=tier=web --format '{{.Action}}'");
  EXPECT_NE(out.find("create\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("pause"), std::string::npos) << out;
  std::tie(rc, out) = Docker("events --since " + t0 + " --until " + t1 +
                             " --filter event=prune --format '{{.Type}} {{.Action}}'");
  EXPECT_EQ(out, "container prune\n") << out;
  std::tie(rc, out) =
      Docker("events --since " + t0 + " --until " + t1 +
             " --filter type=image --format '{{.Action}} {{.Actor.Attributes.name}}'");
  EXPECT_NE(out.find("import"), std::string::npos) << out;
  EXPECT_NE(out.find("tag busybox:ev"), std::string::npos) << out;
  EXPECT_NE(out.find("untag"), std::string::npos) << out;

  // The raw stream with compose's list-form filter: one object per line, with the labels.
  auto r = client_->Get("/v1.41/events?since=" + t0 + "&until=" + t1 +
                        "&filters=%7B%22label%22%3A%5B%22tier%3Dweb%22%5D%7D");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  std::vector<std::string> lines = Lines(r->body);
  ASSERT_FALSE(lines.empty());
  json first = json::parse(lines[0]);
  EXPECT_EQ(first["status"], "create");
  EXPECT_EQ(first["id"], id);
  EXPECT_EQ(first["from"], "busybox");
  EXPECT_EQ(first["Type"], "container");
  EXPECT_EQ(first["Action"], "create");
  EXPECT_EQ(first["Actor"]["ID"], id);
  EXPECT_EQ(first["Actor"]["Attributes"]["tier"], "web");
  EXPECT_EQ(first["scope"], "local");
  EXPECT_GT(first["timeNano"].get<int64_t>(), first["time"].get<int64_t>());
  r = client_->Get("/v1.41/events?since=10&until=5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);

  // The live stream ended at its `until` and saw the actions as they happened.
  for (int i = 0; i < 150 && NowSecs() <= std::stoll(until) + 1; ++i)
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(500ms);
  std::string seen = ReadAll(live);
  for (const char* w : {"container create\n", "container start\n", "container die\n",
                        "container rename\n", "container destroy\n"})
    EXPECT_NE(seen.find(w), std::string::npos) << w << " in\n" << seen;
  std::tie(rc, out) = Shell("pgrep -f '[e]vents --since " + t0 + " --until " + until + "'");
  EXPECT_NE(rc, 0) << "docker events still runs: " << out;
}

}  // namespace
}  // namespace berth
