// The exec's OCI process; see exec_process.h.
#include "daemon/exec_process.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "runtime/linux/process_setup.h"

namespace berth::daemon {
namespace {

using base::Error;
using base::Fail;

std::optional<uint32_t> ParseId(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Lines of a passwd/group file, split on ':'; comments, blanks and short lines skipped.
std::vector<std::vector<std::string>> Records(std::string_view text, size_t min_fields) {
  std::vector<std::vector<std::string>> out;
  for (const auto& line : base::Split(text, '\n')) {
    std::string_view l = base::Trim(line);
    if (l.empty() || l[0] == '#') continue;
    auto f = base::Split(l, ':');
    if (f.size() >= min_fields) out.push_back(std::move(f));
  }
  return out;
}

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (auto& f : Records(text, 4)) {
    auto uid = ParseId(f[2]), gid = ParseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], *uid, *gid, f.size() > 5 ? f[5] : ""});
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (auto& f : Records(text, 3)) {
    auto gid = ParseId(f[2]);
    if (!gid) continue;
    out.push_back(
        {f[0], *gid, f.size() > 3 ? base::SplitNonEmpty(f[3], ',') : std::vector<std::string>{}});
  }
  return out;
}

}  // namespace

base::Result<oci::User> ResolveExecUser(std::string_view spec, std::string_view passwd,
                                        std::string_view group) {
  std::string_view user_part = spec, group_part;
  bool has_group = false;
  if (size_t colon = spec.find(':'); colon != std::string_view::npos) {
    user_part = spec.substr(0, colon);
    group_part = spec.substr(colon + 1);
    has_group = true;
  }
  auto users = ParsePasswd(passwd);
  auto groups = ParseGroup(group);
  oci::User u;
  const PasswdEntry* matched = nullptr;
  auto numeric = ParseId(user_part);
  for (const auto& e : users) {
    if ((numeric && e.uid == *numeric) || (!numeric && e.name == user_part)) {
      matched = &e;
      break;
    }
  }
  if (numeric) {
    u.uid = *numeric;
  } else if (matched) {
    u.uid = matched->uid;
  } else {
    return Fail(Error::InvalidArgument(
        fmt::format("unable to find user {}: no matching entries in passwd file", user_part)));
  }
  if (matched) u.gid = matched->gid;
  if (has_group && !group_part.empty()) {
    if (auto gid = ParseId(group_part)) {
      u.gid = *gid;
    } else {
      const GroupEntry* g = nullptr;
      for (const auto& e : groups)
        if (e.name == group_part) g = &e;
      if (!g)
        return Fail(Error::InvalidArgument(
            fmt::format("unable to find group {}: no matching entries in group file", group_part)));
      u.gid = g->gid;
    }
  } else if (matched) {
    for (const auto& e : groups) {
      bool member = false;
      for (const auto& m : e.members) member |= m == matched->name;
      if (member && e.gid != u.gid &&
          std::find(u.additional_gids.begin(), u.additional_gids.end(), e.gid) ==
              u.additional_gids.end())
        u.additional_gids.push_back(e.gid);
    }
  }
  // As dockerd: the primary group is one of the supplementary groups too.
  u.additional_gids.insert(u.additional_gids.begin(), u.gid);
  return u;
}

std::string HomeOf(uint32_t uid, std::string_view passwd) {
  return runtime::linux::HomeOf(passwd, uid);  // the init's rule for a process without HOME
}

std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides) {
  auto name_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  for (const auto& o : overrides) {
    std::string_view name = name_of(o);
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const std::string& b) { return name_of(b) == name; });
    bool remove = o.find('=') == std::string::npos;
    if (it != base.end()) {
      if (remove) {
        base.erase(it);
      } else {
        *it = o;
      }
    } else if (!remove) {
      base.push_back(o);
    }
  }
  return base;
}

oci::Process BuildExecProcess(const ExecProcessInputs& in) {
  const ExecConfig& c = in.config;
  oci::Process p = in.container;
  p.args = c.cmd;
  p.terminal = c.tty;
  p.console_size.reset();
  if (c.tty && c.console_size)
    p.console_size = oci::ConsoleSize{c.console_size->first, c.console_size->second};
  std::vector<std::string> env = p.env;
  if (c.tty) env = MergeEnv(std::move(env), {"TERM=xterm"});
  // The container's own TERM (a tty container) wins over the default; the exec's over both.
  for (const auto& e : in.container.env)
    if (base::StartsWith(e, "TERM=")) env = MergeEnv(std::move(env), {e});
  p.env = MergeEnv(std::move(env), c.env);
  if (!in.home.empty()) {
    bool has_home = false;
    for (const auto& e : p.env) has_home |= base::StartsWith(e, "HOME=");
    if (!has_home) p.env.push_back("HOME=" + in.home);
  }
  if (!c.working_dir.empty()) p.cwd = c.working_dir;
  if (in.user) {
    oci::User u = *in.user;
    u.umask = in.container.user.umask;
    p.user = u;
  }
  if (c.privileged && !in.privileged_caps.empty()) {
    oci::Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = in.privileged_caps;
    p.capabilities = caps;
  }
  return p;
}

std::string SerializeProcess(const oci::Process& process) {
  oci::Spec spec;
  spec.process = process;
  auto j = nlohmann::json::parse(oci::SerializeSpec(spec), nullptr, false);
  if (j.is_discarded() || !j.contains("process")) return "{}";
  return j["process"].dump();
}

int ExecStartFailureCode(std::string_view message) {
  for (std::string_view s : {"executable file not found", "no such file or directory"})
    if (message.find(s) != std::string_view::npos) return 127;
  return 126;
}

std::string ExecStartFailureText(std::string_view message) {
  return fmt::format(
      "OCI runtime exec failed: exec failed: unable to start container process: {}: unknown",
      message);
}

}  // namespace berth::daemon
