// State directory persistence (nlohmann-json; only on command paths, never in the shim's loop).
#include "runtime/state_store.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "sys/file.h"
#include "sys/process.h"

namespace berth::runtime {

using base::Error;
using base::Fail;
using nlohmann::json;

base::Status ValidateContainerId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 1024)
    return Fail(Error::InvalidArgument(fmt::format("invalid container id \"{}\"", id)));
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
          c == '.'))
      return Fail(Error::InvalidArgument(fmt::format("invalid container id \"{}\"", id)));
  }
  return {};
}

std::string DefaultStateRoot() {
  if (::geteuid() != 0) {
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/berth";
  }
  return "/run/berth-runtime";
}

base::Status StateStore::CreateDir(const std::string& id) {
  TRY(ValidateContainerId(id));
  TRY(sys::MkdirAll(root_, 0711));
  if (::mkdir(Dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST)
      return Fail(Error::AlreadyExists("container with given ID already exists"));
    return Fail(Error::FromErrno(errno, fmt::format("mkdir \"{}\"", Dir(id))));
  }
  return {};
}

base::Status StateStore::Save(const ContainerRecord& r, std::string_view config_text) {
  json j = {{"id", r.id},
            {"bundle", r.bundle},
            {"rootfs", r.rootfs},
            {"created", r.created},
            {"owner", r.owner},
            {"pid", r.pid},
            {"start_time", r.start_time},
            {"annotations", r.annotations},
            {"cgroup_paths", r.cgroup_paths},
            {"cgroup_mode", r.cgroup_mode}};
  // The config goes last (the record's keys come out sorted): a reader that wants only the
  // record, such as berthd's pid lookup, can stop before the config's tens of kilobytes.
  std::string text = j.dump();
  text.pop_back();
  text += ",\"config\":";
  // Spliced in as the JSON it is: a container is only created from a config that parsed
  // (CreateOptions::config_text), and escaping tens of kilobytes per container is not free.
  // Text that is not an object goes in as a string.
  size_t first = config_text.find_first_not_of(" \t\r\n");
  size_t last = config_text.find_last_not_of(" \t\r\n");
  if (first != std::string_view::npos && config_text[first] == '{' && config_text[last] == '}')
    text += config_text;
  else
    text += json(std::string(config_text)).dump();
  text += '}';
  // Runtime state lives in a tmpfs by default and dies with the boot: rename for atomicity, no
  // fsync (an fsync on a disk-backed --root costs milliseconds per container).
  return sys::WriteFileReplace(Dir(r.id) + "/state.json", text, 0600);
}

namespace {

// Builds the document as json::parse does but stops at the top-level "config" key, which Save
// writes last: the record without lexing the config's tens of kilobytes (berthd reads the pid
// on every start, the shim the cgroup paths). Returning false from a SAX event ends the parse;
// what was built until then stays in the document.
class RecordOnlyParser : public nlohmann::detail::json_sax_dom_parser<json> {
  using Base = nlohmann::detail::json_sax_dom_parser<json>;

 public:
  explicit RecordOnlyParser(json& doc) : Base(doc, /*allow_exceptions=*/false) {}
  bool start_object(std::size_t n) {
    ++depth_;
    return Base::start_object(n);
  }
  bool end_object() {
    --depth_;
    return Base::end_object();
  }
  bool start_array(std::size_t n) {
    ++depth_;
    return Base::start_array(n);
  }
  bool end_array() {
    --depth_;
    return Base::end_array();
  }
  bool key(string_t& k) {
    if (depth_ == 1 && k == "config") {
      stopped_at_config = true;
      return false;
    }
    return Base::key(k);
  }
  bool stopped_at_config = false;

 private:
  int depth_ = 0;
};

}  // namespace

base::Result<std::string> StateStore::ReadState(const std::string& id) const {
  if (!ValidateContainerId(id)) return Fail(Error::NotFound("container does not exist"));
  auto text = sys::ReadFile(Dir(id) + "/state.json");
  if (!text) return Fail(Error::NotFound("container does not exist"));
  return std::move(*text);
}

base::Result<ContainerRecord> StateStore::Load(const std::string& id) const {
  auto text = TRY(ReadState(id));
  json j;
  RecordOnlyParser parser(j);
  bool complete = json::sax_parse(text, &parser);
  if ((!complete && !parser.stopped_at_config) || !j.is_object())
    return Fail(Error::Internal(fmt::format("corrupt state file for container {}", id)));
  ContainerRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.value("rootfs", "");
    r.created = j.value("created", "");
    r.owner = j.value("owner", "");
    r.pid = j.at("pid").get<pid_t>();
    r.start_time = j.value("start_time", uint64_t{0});
    r.annotations = j.value("annotations", std::map<std::string, std::string>{});
    r.cgroup_paths = j.value("cgroup_paths", std::map<std::string, std::string>{});
    r.cgroup_mode = j.value("cgroup_mode", "");
  } catch (const json::exception& e) {
    return Fail(
        Error::Internal(fmt::format("corrupt state file for container {}: {}", id, e.what())));
  }
  return r;
}

base::Result<pid_t> StateStore::LoadPid(const std::string& id) const { return TRY(Load(id)).pid; }

base::Result<oci::Spec> StateStore::LoadConfig(const std::string& id) const {
  json j = json::parse(TRY(ReadState(id)), nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("config"); it != j.end()) {
      if (it->is_object()) return oci::DecodeSpec(*it);
      if (it->is_string()) return oci::ParseSpec(it->get_ref<const std::string&>());
    }
  }
  return oci::ParseSpec(TRY(sys::ReadFile(LegacyConfigPath(id))));
}

base::Status StateStore::Remove(const std::string& id) { return sys::RemoveAll(Dir(id)); }

base::Result<std::vector<std::string>> StateStore::List() const {
  if (!sys::Exists(root_)) return std::vector<std::string>{};
  auto names = TRY(sys::ListDir(root_));
  std::vector<std::string> out;
  for (auto& n : names)
    if (sys::Exists(Dir(n) + "/state.json")) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ContainerStatus(const StateStore& store, const ContainerRecord& rec) {
  if (!sys::ProcessAlive(rec.pid, rec.start_time)) return "stopped";
  if (sys::Exists(store.FifoPath(rec.id))) return "created";
  if (!rec.cgroup_paths.empty()) {
    auto layout = cgroup::DetectHostLayout();
    if (layout) {
      auto mgr = cgroup::LoadManager(*layout, rec.cgroup_paths);
      if (mgr) {
        auto frozen = (*mgr)->IsFrozen();
        if (frozen && *frozen) return "paused";
      }
    }
  }
  return "running";
}

oci::State ToOciState(const ContainerRecord& rec, const std::string& status) {
  oci::State s;
  s.oci_version = oci::kOciVersion;
  s.id = rec.id;
  s.status = status;
  s.pid = status == "stopped" ? 0 : rec.pid;
  s.bundle = rec.bundle;
  s.rootfs = rec.rootfs;
  s.created = rec.created;
  s.owner = rec.owner;
  s.annotations = rec.annotations;
  return s;
}

}  // namespace berth::runtime
