// ExecStore and the exec create body; see exec_store.h.
#include "daemon/exec_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::daemon {

using base::Error;
using base::Fail;
using nlohmann::json;

base::Result<ExecConfig> ParseExecConfig(std::string_view body) {
  json j = json::parse(body.empty() ? std::string_view("{}") : body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Fail(Error::InvalidArgument("exec config: the body is not a JSON object"));
  ExecConfig c;
  auto bad = [](const char* field, const char* want) {
    return Fail(Error::InvalidArgument(fmt::format("exec config: {} must be {}", field, want)));
  };
  // Absent and null are the same (docker-py sends nulls).
  auto present = [&](const char* field) { return j.contains(field) && !j[field].is_null(); };
  for (auto [field, out] : {std::pair{"Privileged", &c.privileged},
                            {"Tty", &c.tty},
                            {"AttachStdin", &c.attach_stdin},
                            {"AttachStdout", &c.attach_stdout},
                            {"AttachStderr", &c.attach_stderr}}) {
    if (!present(field)) continue;
    if (!j[field].is_boolean()) return bad(field, "a boolean");
    *out = j[field].get<bool>();
  }
  for (auto [field, out] : {std::pair{"User", &c.user},
                            {"DetachKeys", &c.detach_keys},
                            {"WorkingDir", &c.working_dir}}) {
    if (!present(field)) continue;
    if (!j[field].is_string()) return bad(field, "a string");
    *out = j[field].get<std::string>();
  }
  for (auto [field, out] : {std::pair{"Env", &c.env}, {"Cmd", &c.cmd}}) {
    if (!present(field)) continue;
    if (!j[field].is_array()) return bad(field, "an array of strings");
    for (const auto& v : j[field]) {
      if (!v.is_string()) return bad(field, "an array of strings");
      out->push_back(v.get<std::string>());
    }
  }
  if (present("ConsoleSize")) {
    const json& cs = j["ConsoleSize"];
    if (!cs.is_array() || cs.size() != 2 || !cs[0].is_number_unsigned() ||
        !cs[1].is_number_unsigned())
      return bad("ConsoleSize", "[height, width]");
    uint32_t h = cs[0].get<uint32_t>(), w = cs[1].get<uint32_t>();
    if (h > 0 && w > 0) c.console_size = std::pair{h, w};
  }
  if (c.cmd.empty()) return Fail(Error::InvalidArgument("No exec command specified"));
  return c;
}

std::string ExecCommandLine(const ExecConfig& config) {
  std::string out;
  for (const auto& a : config.cmd) out += (out.empty() ? "" : " ") + a;
  return out;
}

ExecRecord ExecStore::Create(std::string id, std::string container_id, ExecConfig config) {
  ExecRecord r;
  r.id = std::move(id);
  r.container_id = std::move(container_id);
  r.config = std::move(config);
  std::lock_guard lock(mu_);
  records_[r.id] = r;
  order_[r.id] = next_++;
  return r;
}

base::Result<ExecRecord> ExecStore::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return Fail(Error::NotFound("No such exec instance: " + id));
  return it->second;
}

base::Result<ExecRecord> ExecStore::MarkStarting(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return Fail(Error::NotFound("No such exec instance: " + id));
  ExecRecord& r = it->second;
  if (r.running)
    return Fail(Error::Conflict(fmt::format("Exec command {} is already running", id)));
  if (r.started) return Fail(Error::Conflict(fmt::format("Exec command {} has already run", id)));
  r.started = true;
  return r;
}

void ExecStore::MarkRunning(const std::string& id, int pid, std::string state_dir) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.exit_code) return;
  it->second.running = true;
  it->second.pid = pid;
  it->second.state_dir = std::move(state_dir);
}

bool ExecStore::SetConsoleSize(const std::string& id, uint32_t height, uint32_t width) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.running || it->second.exit_code) return false;
  if (height > 0 && width > 0) it->second.config.console_size = std::pair{height, width};
  return true;
}

bool ExecStore::Finish(const std::string& id, int exit_code) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.exit_code) return false;
  ExecRecord& r = it->second;
  r.started = true;
  r.running = false;
  r.exit_code = exit_code;
  r.pid = 0;
  r.finished_at = std::chrono::steady_clock::now();
  return true;
}

bool ExecStore::Finished(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  return it != records_.end() && it->second.exit_code.has_value();
}

std::vector<std::string> ExecStore::IdsOf(const std::string& container_id) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& [id, r] : records_)
    if (r.container_id == container_id) found.emplace_back(order_.at(id), id);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::vector<ExecRecord> ExecStore::RunningOf(const std::string& container_id) const {
  std::lock_guard lock(mu_);
  std::vector<ExecRecord> out;
  for (const auto& [id, r] : records_)
    if (r.container_id == container_id && r.running) out.push_back(r);
  return out;
}

void ExecStore::ForgetContainer(const std::string& container_id) {
  std::lock_guard lock(mu_);
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.container_id == container_id && !it->second.running) {
      order_.erase(it->first);
      it = records_.erase(it);
    } else {
      ++it;
    }
  }
}

void ExecStore::Prune(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.exit_code && now - it->second.finished_at >= kRetention) {
      order_.erase(it->first);
      it = records_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t ExecStore::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace berth::daemon
