// Image operations and garbage collection: see image_service.h.
#include "image/image_service.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <set>

#include "base/strings.h"
#include "image/pull.h"
#include "oci/reference.h"

namespace berth::image {

using base::Error;
using base::ErrorCode;
using base::Fail;
using base::Result;
using base::Status;
using nlohmann::json;

namespace {

constexpr int64_t kMaxConfigSize = 16 << 20;

bool IsDigestName(const std::string& name) { return name.find('@') != std::string::npos; }

// "docker.io/library/busybox:latest" -> "docker.io/library/busybox".
std::string RepoOf(const std::string& name) {
  auto at = name.find('@');
  if (at != std::string::npos) return name.substr(0, at);
  auto colon = name.rfind(':');
  auto slash = name.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return name.substr(0, colon);
  return name;
}

json StringMapSet(const std::vector<std::string>& keys) {
  if (keys.empty()) return nullptr;
  json j = json::object();
  for (const auto& k : keys) j[k] = json::object();
  return j;
}

json ListOrNull(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

}  // namespace

std::string FamiliarName(const std::string& stored_name) {
  auto ref = oci::ParseReference(stored_name);
  if (!ref) return stored_name;
  if (ref->digest) {
    oci::ImageReference r = *ref;
    r.tag.clear();
    return r.FamiliarString();
  }
  return ref->FamiliarString();
}

int64_t ParseRfc3339(std::string_view text) {
  std::string s(text);
  struct tm tm {};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  int64_t t = timegm(&tm);
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9') {
    }
  if (*rest == '+' || *rest == '-') {
    int h = 0, m = 0;
    if (sscanf(rest + 1, "%d:%d", &h, &m) >= 1) t -= (*rest == '+' ? 1 : -1) * (h * 3600 + m * 60);
  }
  return t;
}

json ToJson(const ImageSummary& s) {
  return json{{"Id", s.id},
              {"ParentId", ""},
              {"RepoTags", s.repo_tags},
              {"RepoDigests", s.repo_digests},
              {"Created", s.created},
              {"Size", s.size},
              {"SharedSize", -1},
              {"VirtualSize", s.size},
              {"Labels", s.labels.empty() ? json(nullptr) : json(s.labels)},
              {"Containers", -1}};
}

json ToJson(const ImageInspect& i) {
  const auto& c = i.config;
  json config = {{"Hostname", ""},
                 {"Domainname", ""},
                 {"User", c.user},
                 {"AttachStdin", false},
                 {"AttachStdout", false},
                 {"AttachStderr", false},
                 {"ExposedPorts", StringMapSet(c.exposed_ports)},
                 {"Tty", false},
                 {"OpenStdin", false},
                 {"StdinOnce", false},
                 {"Env", ListOrNull(c.env)},
                 {"Cmd", ListOrNull(c.cmd)},
                 {"Image", ""},
                 {"Volumes", StringMapSet(c.volumes)},
                 {"WorkingDir", c.working_dir},
                 {"Entrypoint", ListOrNull(c.entrypoint)},
                 {"OnBuild", nullptr},
                 {"Labels", c.labels.empty() ? json(nullptr) : json(c.labels)}};
  if (!c.stop_signal.empty()) config["StopSignal"] = c.stop_signal;
  json j = {{"Id", i.id},
            {"RepoTags", i.repo_tags},
            {"RepoDigests", i.repo_digests},
            {"Parent", ""},
            {"Comment", ""},
            {"Created", i.created},
            {"DockerVersion", ""},
            {"Author", i.author},
            {"Config", config},
            {"Architecture", i.architecture},
            {"Os", i.os},
            {"Size", i.size},
            {"VirtualSize", i.size},
            {"RootFS", {{"Type", "layers"}, {"Layers", i.layers}}},
            {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
  if (!i.variant.empty()) j["Variant"] = i.variant;
  return j;
}

json ToJson(const HistoryItem& h) {
  return json{{"Id", h.id},
              {"Created", h.created},
              {"CreatedBy", h.created_by},
              {"Tags", ListOrNull(h.tags)},
              {"Size", h.size},
              {"Comment", h.comment}};
}

json ToJson(const DeleteItem& d) {
  if (!d.untagged.empty()) return json{{"Untagged", d.untagged}};
  return json{{"Deleted", d.deleted}};
}

Result<ImageRecord> ImageService::ResolveImpl(std::string_view name, bool* by_id,
                                              std::string* ref_name) {
  *by_id = false;
  if (auto ref = oci::ParseReference(name)) {
    std::string stored =
        ref->digest ? ref->Name() + "@" + ref->digest->ToString() : ref->Name() + ":" + ref->tag;
    auto rec = meta_->ResolveName(stored);
    if (rec) {
      *ref_name = stored;
      return rec;
    }
    if (rec.error().code() != ErrorCode::kNotFound) return Fail(std::move(rec.error()));
  }
  *by_id = true;
  auto full = meta_->ResolveName(std::string(name));
  if (full) return full;
  auto rec = meta_->ResolveIdPrefix(name);
  if (rec) return rec;
  if (rec.error().code() == ErrorCode::kConflict) return Fail(std::move(rec.error()));
  return Fail(Error::NotFound(fmt::format("No such image: {}", name)));
}

Result<ImageRecord> ImageService::Resolve(std::string_view name) {
  bool by_id;
  std::string ref_name;
  return ResolveImpl(name, &by_id, &ref_name);
}

Result<oci::ImageConfig> ImageService::Config(const ImageRecord& rec, std::string* raw) {
  std::string bytes = TRY_CTX(content_->ReadAll(rec.id, kMaxConfigSize), "image config");
  auto config = TRY_CTX(oci::ParseImageConfig(bytes), "image config " + rec.id.ToString());
  if (raw) *raw = std::move(bytes);
  return config;
}

Result<std::vector<ImageSummary>> ImageService::List(bool dangling_only) {
  auto images = TRY_CTX(meta_->ListImages(), "list images");
  std::vector<ImageSummary> out;
  for (const auto& rec : images) {
    ImageSummary s;
    s.id = rec.id.ToString();
    for (const auto& n : rec.names)
      (IsDigestName(n) ? s.repo_digests : s.repo_tags).push_back(FamiliarName(n));
    if (dangling_only && !s.repo_tags.empty()) continue;
    s.created = ParseRfc3339(rec.created);
    s.size = rec.size;
    if (auto config = Config(rec)) s.labels = config->config.labels;
    out.push_back(std::move(s));
  }
  return out;
}

Result<ImageInspect> ImageService::Inspect(std::string_view name) {
  auto rec = TRY(Resolve(name));
  ImageInspect i;
  auto config = TRY(Config(rec, &i.raw_config));
  i.id = rec.id.ToString();
  for (const auto& n : rec.names)
    (IsDigestName(n) ? i.repo_digests : i.repo_tags).push_back(FamiliarName(n));
  i.created = config.created;
  i.author = config.author;
  i.config = config.config;
  i.architecture = config.architecture;
  i.os = config.os;
  i.variant = config.variant;
  i.size = rec.size;
  for (const auto& d : config.diff_ids) i.layers.push_back(d.ToString());
  return i;
}

Result<std::vector<HistoryItem>> ImageService::History(std::string_view name) {
  auto rec = TRY(Resolve(name));
  auto config = TRY(Config(rec));
  std::vector<HistoryItem> out;
  size_t layer = 0;
  auto layer_size = [&](size_t i) -> int64_t {
    if (i >= rec.layers.size()) return 0;
    return snapshots_->Usage(rec.layers[i].chain_id).value_or(0);
  };
  if (config.history.empty()) {
    for (size_t i = 0; i < rec.layers.size(); ++i)
      out.push_back({"<missing>", ParseRfc3339(config.created), "", {}, layer_size(i), ""});
  } else {
    for (const auto& h : config.history) {
      HistoryItem item{"<missing>", ParseRfc3339(h.created), h.created_by, {}, 0, h.comment};
      if (!h.empty_layer) item.size = layer_size(layer++);
      out.push_back(std::move(item));
    }
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out.front().id = rec.id.ToString();
    for (const auto& n : rec.names)
      if (!IsDigestName(n)) out.front().tags.push_back(FamiliarName(n));
  }
  return out;
}

Status ImageService::Tag(std::string_view source, std::string_view target) {
  auto rec = TRY(Resolve(source));
  auto ref = oci::ParseReference(target);
  if (!ref) return Fail(std::move(ref.error()));
  if (ref->digest)
    return Fail(Error::InvalidArgument("refusing to create a tag with a digest reference"));
  return meta_->Tag(ref->Name() + ":" + ref->tag, rec.id);
}

Result<std::vector<DeleteItem>> ImageService::DeleteAndCollect(const oci::Digest& id) {
  std::vector<DeleteItem> items;
  TRY(meta_->DeleteImage(id));
  items.push_back({"", id.ToString()});
  auto gc = TRY(CollectGarbage());
  for (const auto& s : gc.snapshots) items.push_back({"", s.ToString()});
  return items;
}

Result<std::vector<DeleteItem>> ImageService::Remove(std::string_view name, bool force,
                                                     bool prune) {
  bool by_id = false;
  std::string ref_name;
  auto rec = TRY(ResolveImpl(name, &by_id, &ref_name));
  std::optional<ContainerUser> user;
  if (containers_) user = containers_->FindUser(rec.id);
  std::string short_id = ShortId(rec.id);

  std::vector<std::string> untag;
  if (!by_id) {
    untag.push_back(ref_name);
    if (!IsDigestName(ref_name)) {
      // The repository's last tag goes: its digest references go with it (Docker).
      std::string repo = RepoOf(ref_name);
      bool other_tag = false;
      for (const auto& n : rec.names)
        if (n != ref_name && !IsDigestName(n) && RepoOf(n) == repo) other_tag = true;
      if (!other_tag)
        for (const auto& n : rec.names)
          if (IsDigestName(n) && RepoOf(n) == repo) untag.push_back(n);
    }
    bool last = untag.size() == rec.names.size();
    if (last && user && !force)
      return Fail(Error::Conflict(fmt::format(
          "conflict: unable to remove repository reference \"{}\" (must force) - container {} "
          "is using its referenced image {}",
          name, user->id.substr(0, 12), short_id)));
  } else {
    std::set<std::string> repos;
    int tags = 0;
    for (const auto& n : rec.names) {
      repos.insert(RepoOf(n));
      if (!IsDigestName(n)) ++tags;
    }
    if (!force && (repos.size() > 1 || tags > 1))
      return Fail(Error::Conflict(fmt::format(
          "conflict: unable to delete {} (must be forced) - image is referenced in multiple "
          "repositories",
          short_id)));
    if (user && user->running)
      return Fail(Error::Conflict(
          fmt::format("conflict: unable to delete {} (cannot be forced) - image is being used "
                      "by running container {}",
                      short_id, user->id.substr(0, 12))));
    if (user && !force)
      return Fail(Error::Conflict(
          fmt::format("conflict: unable to delete {} (must be forced) - image is being used by "
                      "stopped container {}",
                      short_id, user->id.substr(0, 12))));
    untag = rec.names;
  }

  std::vector<DeleteItem> items;
  bool names_left = true;
  for (const auto& n : untag) {
    names_left = TRY(meta_->Untag(n));
    items.push_back({FamiliarName(n), ""});
  }
  if (names_left && !rec.names.empty()) return items;
  // Forced untagging of a running container's image keeps the image itself (Docker).
  if (user && user->running) return items;
  auto deleted = TRY(DeleteAndCollect(rec.id));
  items.insert(items.end(), deleted.begin(), deleted.end());
  return items;
}

Result<PruneReport> ImageService::PruneDangling() {
  PruneReport report;
  auto dangling = TRY_CTX(meta_->DanglingImages(), "prune images");
  for (const auto& id : dangling) {
    if (containers_ && containers_->ImageInUse(id)) continue;
    TRY_CTX(meta_->DeleteImage(id), "prune images");
    report.deleted.push_back({"", id.ToString()});
  }
  auto gc = TRY_CTX(CollectGarbage(), "prune images");
  for (const auto& s : gc.snapshots) report.deleted.push_back({"", s.ToString()});
  report.space_reclaimed = gc.bytes;
  return report;
}

Result<GcReport> ImageService::CollectGarbage() {
  auto ctx = "collect garbage";
  GcReport report;
  TRY_CTX(meta_->DeleteExpiredLeases(), ctx);
  auto blobs = TRY_CTX(content_->List(), ctx);
  auto unreferenced = TRY_CTX(meta_->UnreferencedBlobs(blobs), ctx);
  for (const auto& d : unreferenced) {
    auto info = content_->Stat(d);
    auto s = content_->Delete(d);
    if (!s && s.error().code() != ErrorCode::kNotFound)
      return Fail(std::move(s.error()).Context(ctx));
    if (s) {
      report.blobs.push_back(d);
      if (info) report.bytes += info->size;
    }
  }
  auto hold = TRY_CTX(snapshots_->TryHoldExclusive(), ctx);
  if (!hold) {
    report.snapshots_skipped = true;
    return report;
  }
  auto snaps = TRY_CTX(meta_->UnreferencedSnapshots(), ctx);
  for (const auto& s : snaps) {
    TRY_CTX(snapshots_->Remove(s.chain_id), ctx);
    report.snapshots.push_back(s.chain_id);
    report.bytes += s.size;
  }
  TRY_CTX(snapshots_->CleanupOrphans(std::chrono::hours(1)), ctx);
  return report;
}

}  // namespace berth::image
