// See container_store.h.
#include "daemon/container_store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "sys/file.h"

namespace berth::daemon {
namespace {

// Spare container directories (MakeSpareDir); no container id starts with a dot.
constexpr std::string_view kSparePrefix = ".spare-";

}  // namespace

using nlohmann::json;

std::string SerializeRecord(const ContainerRecord& r) {
  json j = {{"id", r.id},
            {"name", r.name},
            {"image", r.image},
            {"image_id", r.image_id},
            {"created", r.created},
            {"path", r.path},
            {"args", r.args},
            {"working_dir", r.working_dir},
            {"request", r.request},
            {"tty", r.tty},
            {"restart_count", r.restart_count},
            {"manually_stopped", r.manually_stopped},
            {"auto_remove", r.auto_remove},
            {"state",
             {{"status", r.state.status},
              {"paused", r.state.paused},
              {"pid", r.state.pid},
              {"exit_code", r.state.exit_code},
              {"oom_killed", r.state.oom_killed},
              {"error", r.state.error},
              {"started_at", r.state.started_at},
              {"finished_at", r.state.finished_at},
              {"exit_reported", r.state.exit_reported}}}};
  return j.dump(2);
}

base::Result<ContainerRecord> ParseRecord(std::string_view text) {
  try {
    json j = json::parse(text);
    ContainerRecord r;
    r.id = j.at("id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.image = j.value("image", "");
    r.image_id = j.value("image_id", "");
    r.created = j.value("created", "");
    r.path = j.value("path", "");
    r.args = j.value("args", std::vector<std::string>{});
    r.working_dir = j.value("working_dir", "");
    r.request = j.value("request", "{}");
    r.tty = j.value("tty", false);
    r.restart_count = j.value("restart_count", 0);
    r.manually_stopped = j.value("manually_stopped", false);
    r.auto_remove = j.value("auto_remove", false);
    const json& s = j.at("state");
    r.state.status = s.value("status", "created");
    r.state.paused = s.value("paused", false);
    r.state.pid = s.value("pid", 0);
    r.state.exit_code = s.value("exit_code", 0);
    r.state.oom_killed = s.value("oom_killed", false);
    r.state.error = s.value("error", "");
    r.state.started_at = s.value("started_at", r.state.started_at);
    r.state.finished_at = s.value("finished_at", r.state.finished_at);
    r.state.exit_reported = s.value("exit_reported", false);
    return r;
  } catch (const json::exception& e) {
    return base::Fail(base::Error::InvalidArgument(fmt::format("container record: {}", e.what())));
  }
}

base::Result<std::unique_ptr<ContainerStore>> ContainerStore::Open(std::string root) {
  TRY(sys::MkdirAll(root, 0710));
  std::unique_ptr<ContainerStore> store(new ContainerStore(root));
  for (const std::string& id : TRY(sys::ListDir(root))) {
    if (base::StartsWith(id, kSparePrefix)) {
      (void)sys::RemoveAll(root + "/" + id);  // made ahead by an earlier daemon, never used
      continue;
    }
    auto text = sys::ReadFile(root + "/" + id + "/config.json");
    auto rec = text ? ParseRecord(*text) : base::Result<ContainerRecord>(base::Fail(text.error()));
    if (!rec) {
      base::LogWarn("skipping container {}: {}", id, rec.error().message());
      continue;
    }
    store->records_[rec->id] = std::move(*rec);
  }
  return store;
}

base::Status ContainerStore::MakeDir(const std::string& id) {
  std::string spare;
  {
    std::lock_guard lock(mu_);
    if (!spares_.empty()) {
      spare = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  if (!spare.empty()) {
    if (::rename(spare.c_str(), Dir(id).c_str()) == 0) return {};
    (void)sys::RemoveAll(spare);
  }
  return sys::MkdirAll(Dir(id), 0710);
}

base::Status ContainerStore::MakeSpareDir() {
  std::string path;
  {
    std::lock_guard lock(mu_);
    if (!spares_.empty()) return {};
    path = fmt::format("{}/{}{}-{}", root_, kSparePrefix, ::getpid(), ++spares_made_);
  }
  TRY(sys::MkdirAll(path, 0710));
  std::lock_guard lock(mu_);
  spares_.push_back(std::move(path));
  return {};
}

base::Status ContainerStore::Persist(const ContainerRecord& r) const {
  std::string path = Dir(r.id) + "/config.json";
  if (r.auto_remove) return sys::WriteFileReplace(path, SerializeRecord(r), 0600);
  return sys::WriteFileAtomic(path, SerializeRecord(r), 0600);
}

base::Status ContainerStore::Add(const ContainerRecord& record) {
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : records_) {
    if (r.name == record.name)
      return base::Fail(base::Error::Conflict(fmt::format(
          "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have "
          "to remove (or rename) that container to be able to reuse that name.",
          record.name, id)));
  }
  TRY(sys::MkdirAll(Dir(record.id), 0710));
  // The first record of a --rm container goes in place (torn by a crash, it is skipped at the
  // next start, as a torn replacement would be); later ones replace it.
  if (record.auto_remove)
    TRY(sys::WriteNewFile(Dir(record.id) + "/config.json", SerializeRecord(record), 0600));
  else
    TRY(Persist(record));
  records_[record.id] = record;
  return {};
}

base::Status ContainerStore::Update(const ContainerRecord& record) {
  std::lock_guard lock(mu_);
  auto it = records_.find(record.id);
  if (it == records_.end())
    return base::Fail(base::Error::NotFound("No such container: " + record.id));
  TRY(Persist(record));
  it->second = record;
  return {};
}

base::Status ContainerStore::Rename(const std::string& id, const std::string& new_name) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return base::Fail(base::Error::NotFound("No such container: " + id));
  for (const auto& [other, r] : records_) {
    if (r.name == new_name && other != id)
      return base::Fail(base::Error::Conflict(fmt::format(
          "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have "
          "to remove (or rename) that container to be able to reuse that name.",
          new_name, other)));
  }
  ContainerRecord renamed = it->second;
  renamed.name = new_name;
  TRY(Persist(renamed));
  it->second = std::move(renamed);
  return {};
}

void ContainerStore::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  records_.erase(id);
  op_locks_.erase(id);
}

base::Result<ContainerRecord> ContainerStore::Find(const std::string& name_or_id) const {
  std::lock_guard lock(mu_);
  std::string_view want = name_or_id;
  if (auto it = records_.find(std::string(want)); it != records_.end()) return it->second;
  std::string_view name = base::StartsWith(want, "/") ? want.substr(1) : want;
  for (const auto& [id, r] : records_)
    if (r.name == name) return r;
  const ContainerRecord* found = nullptr;
  if (!want.empty()) {
    for (const auto& [id, r] : records_) {
      if (!base::StartsWith(id, want)) continue;
      if (found)
        return base::Fail(base::Error::InvalidArgument(
            fmt::format("multiple IDs found with provided prefix: {}", want)));
      found = &r;
    }
  }
  if (!found) return base::Fail(base::Error::NotFound("No such container: " + name_or_id));
  return *found;
}

std::vector<ContainerRecord> ContainerStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ContainerRecord> out;
  for (const auto& [id, r] : records_) out.push_back(r);
  return out;
}

std::shared_ptr<std::mutex> ContainerStore::OpLock(const std::string& id) {
  std::lock_guard lock(mu_);
  auto& m = op_locks_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

}  // namespace berth::daemon
