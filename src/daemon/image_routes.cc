// Handlers of the image routes; see image_routes.h and the Engine API reference in
// /work/shared/reference/docker-engine-api.md (§2.1, §4).
#include "daemon/image_routes.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "archive/stream.h"
#include "base/log.h"
#include "base/strings.h"
#include "daemon/query.h"
#include "daemon/registry_fetcher.h"
#include "image/import.h"
#include "image/pull.h"
#include "image/push.h"
#include "image/save_load.h"
#include "oci/reference.h"
#include "registry/client.h"

namespace berth::daemon {
namespace {

using nlohmann::json;

std::string Line(const json& j) { return j.dump() + "\r\n"; }

json ErrorLine(const std::string& message) {
  return json{{"errorDetail", {{"message", message}}}, {"error", message}};
}

// units.HumanSize: four significant digits, decimal units.
std::string HumanSize(double size) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  size_t i = 0;
  while (size >= 1000 && i + 1 < std::size(kUnits)) {
    size /= 1000;
    ++i;
  }
  return fmt::format("{:.4g}{}", size, kUnits[i]);
}

// Docker sends this JSON for pull and push progress events (image::PushProgress is a
// PullProgress).
json ProgressLine(const image::PullProgress& p) {
  json j = {{"status", p.status}, {"progressDetail", json::object()}, {"id", p.id}};
  if (p.status == "Downloading" || p.status == "Extracting" || p.status == "Pushing") {
    j["progressDetail"] = {{"current", p.current}, {"total", p.total}};
    j["progress"] = ProgressBar(p.current, p.total);
  }
  return j;
}

// dockerd's LogImageEvent: the actor is `id` with the attribute name (events may be off in tests).
void PublishImageEvent(const ImageContext* ctx, const std::string& id, const std::string& name,
                       const std::string& action) {
  if (!ctx->events) return;
  Event e;
  e.type = "image";
  e.action = action;
  e.id = id;
  if (!name.empty()) e.attributes["name"] = name;
  ctx->events->Publish(std::move(e));
}

// The image id ("sha256:...") a name resolves to now, or "" when it does not.
std::string ImageIdOf(const ImageContext* ctx, const std::string& name) {
  auto rec = ctx->stores->service->Resolve(name);
  return rec ? rec->id.ToString() : "";
}

// An image name from a route parameter or query, checked the way dockerd does before acting.
base::Result<oci::ImageReference> ParseImageRef(const std::string& image, const std::string& tag) {
  oci::ImageReference ref = TRY(oci::ParseReference(image));
  if (!tag.empty()) {
    if (base::StartsWith(tag, "sha256:")) {
      ref = TRY(oci::ParseReference(ref.Name() + "@" + tag));
    } else if (!ref.digest) {
      ref = TRY(oci::ParseReference(ref.Name() + ":" + tag));
    }
  }
  return ref;
}

// The credentials a pull or push sends to ref's registry: those of its X-Registry-Auth.
std::shared_ptr<registry::StaticCredentials> RequestCredentials(
    const oci::ImageReference& ref, const std::optional<RegistryAuth>& auth) {
  auto creds = std::make_shared<registry::StaticCredentials>();
  if (auth && !auth->username.empty())
    creds->Add(ref.domain, registry::Credentials{auth->username, auth->password});
  return creds;
}

// The daemon's registry settings with a request's credentials (which must outlive the client).
registry::ClientOptions RequestClientOptions(const ImageContext* ctx,
                                             const registry::StaticCredentials* creds) {
  registry::ClientOptions copts;
  copts.hosts = ctx->hosts;
  copts.credentials = creds;
  return copts;
}

Response Pull(const ImageContext* ctx, const Request& req, const Query& q) {
  auto ref = ParseImageRef(q.Get("fromImage"), q.Get("tag"));
  if (!ref) return Response::FromError(ref.error());
  std::optional<oci::Platform> platform;
  if (std::string p = q.Get("platform"); !p.empty()) {
    auto parsed = oci::ParsePlatform(p);
    if (!parsed) return Response::FromError(parsed.error());
    platform = *parsed;
  }
  auto auth = DecodeRegistryAuth(req.Header("X-Registry-Auth"));
  if (!auth) return Response::FromError(auth.error());
  return Response::Deferred([ctx, ref = *ref, platform, auth = *auth]() -> Response {
    auto creds = RequestCredentials(ref, auth);
    registry::ClientOptions copts = RequestClientOptions(ctx, creds.get());
    auto fetcher = std::make_shared<RegistryFetcher>(copts);
    image::PullOptions options;
    if (platform) options.platform = *platform;
    // Resolving first lets a missing manifest or a refused login answer with an HTTP error
    // before the stream starts, as dockerd does; the pull resolves again (a cheap HEAD/GET).
    if (auto r = fetcher->Resolve(ref, options.platform); !r) {
      const base::Error& e = r.error();
      int status = e.code() == base::ErrorCode::kPermissionDenied ? 401 : HttpStatusFor(e.code());
      return Response::ErrorMessage(status, e.message());
    }
    return Response::JsonStream([ctx, ref, options, creds, fetcher](BodyWriter& w) mutable {
      std::string path = ref.path;
      w.Write(Line({{"status", "Pulling from " + path},
                    {"id", ref.digest ? ref.digest->ToString() : ref.tag}}));
      options.progress = [&w](const image::PullProgress& p) { w.Write(Line(ProgressLine(p))); };
      image::Puller puller(ctx->stores->content.get(), ctx->stores->meta.get(),
                           ctx->stores->snapshots.get(), fetcher.get());
      auto r = puller.Pull(ref, options);
      if (!r) {
        base::LogWarn("pull {}: {}", ref.String(), r.error().message());
        w.Write(Line(ErrorLine(r.error().message())));
        return;
      }
      oci::ImageReference shown = ref;
      if (shown.digest) shown.tag.clear();
      PublishImageEvent(ctx, shown.FamiliarString(), shown.FamiliarName(), "pull");
      w.Write(Line({{"status", "Digest: " + r->digest.ToString()}}));
      w.Write(Line(
          {{"status", fmt::format("Status: {} for {}",
                                  r->updated ? "Downloaded newer image" : "Image is up to date",
                                  shown.FamiliarString())}}));
    });
  });
}

// dockerd's postImagesPush: the tag from the query (else the one in the name; without either,
// every local tag of the repository), X-Registry-Auth as for a pull. An unknown image is a 404
// before the stream starts; registry errors come as an errorDetail line in the stream.
Response Push(const ImageContext* ctx, const Request& req, const Query& q) {
  auto named = oci::ParseNamedReference(req.params.at("name"));
  if (!named) return Response::FromError(named.error());
  oci::ImageReference ref = *named;
  if (std::string tag = q.Get("tag"); !tag.empty()) {
    if (base::StartsWith(tag, "sha256:"))
      return Response::ErrorMessage(400, "cannot push a digest reference");
    auto tagged = oci::ParseReference(ref.Name() + ":" + tag);
    if (!tagged) return Response::FromError(tagged.error());
    ref.tag = tagged->tag;
  }
  if (ref.digest) return Response::ErrorMessage(400, "cannot push a digest reference");
  auto auth = DecodeRegistryAuth(req.Header("X-Registry-Auth"));
  if (!auth) return Response::FromError(auth.error());
  return Response::Deferred([ctx, ref, auth = *auth]() -> Response {
    std::vector<std::string> tags;
    if (!ref.tag.empty()) {
      // Docker's errors for an unknown tag, before the stream; the push resolves it again.
      if (auto rec = image::ResolvePushImage(*ctx->stores->meta, ref); !rec)
        return Response::FromError(rec.error());
      tags.push_back(ref.tag);
    } else {
      auto local = image::LocalTags(*ctx->stores->meta, ref.Name());
      if (!local) return Response::FromError(local.error());
      if (local->empty())
        return Response::ErrorMessage(
            404, "An image does not exist locally with the tag: " + ref.FamiliarName());
      tags = std::move(*local);
    }
    auto creds = RequestCredentials(ref, auth);
    registry::ClientOptions copts = RequestClientOptions(ctx, creds.get());
    auto target = std::make_shared<RegistryPusher>(copts);
    return Response::JsonStream([ctx, ref, tags, creds, target](BodyWriter& w) {
      w.Write(Line({{"status", "The push refers to repository [" + ref.Name() + "]"}}));
      image::PushOptions options;
      options.progress = [&w](const image::PushProgress& p) { w.Write(Line(ProgressLine(p))); };
      image::Pusher pusher(ctx->stores->content.get(), ctx->stores->meta.get(), target.get());
      for (const std::string& tag : tags) {
        oci::ImageReference one = ref;
        one.tag = tag;
        auto r = pusher.Push(one, options);
        if (!r) {
          base::LogWarn("{}", r.error().message());
          w.Write(Line(ErrorLine(r.error().message())));
          return;
        }
        w.Write(Line({{"status", fmt::format("{}: digest: {} size: {}", r->tag,
                                             r->digest.ToString(), r->size)}}));
        w.Write(Line(
            {{"progressDetail", json::object()},
             {"aux", {{"Tag", r->tag}, {"Digest", r->digest.ToString()}, {"Size", r->size}}}}));
      }
      PublishImageEvent(ctx, ref.FamiliarString(), ref.FamiliarName(), "push");
    });
  });
}

Response Import(const ImageContext* ctx, Request& req, const Query& q) {
  if (q.Get("fromSrc") != "-")
    return Response::ErrorMessage(400, "importing from a URL is not supported: use fromSrc=-");
  std::string repo = q.Get("repo");
  if (!repo.empty()) {
    auto ref = ParseImageRef(repo, q.Get("tag"));
    if (!ref) return Response::FromError(ref.error());
    if (ref->digest) return Response::ErrorMessage(400, "cannot import digest reference");
    repo = ref->String();
  }
  image::ImportOptions opts;
  opts.reference = repo;
  opts.changes = q.GetAll("changes");
  opts.message = q.Get("message");
  if (std::string p = q.Get("platform"); !p.empty()) {
    auto parsed = oci::ParsePlatform(p);
    if (!parsed) return Response::FromError(parsed.error());
    opts.platform = *parsed;
  }
  return Response::Deferred([ctx, opts, body = std::move(req.body)]() -> Response {
    archive::MemorySource source(body);
    auto id = image::Import(source, *ctx->stores->content, *ctx->stores->meta, opts);
    if (!id) return Response::FromError(id.error());
    auto rec = ctx->stores->meta->GetImage(*id);
    if (!rec) return Response::FromError(rec.error());
    if (auto st = UnpackImage(*ctx->stores, *rec); !st) return Response::FromError(st.error());
    PublishImageEvent(ctx, id->ToString(), id->ToString(), "import");
    return Response::Json(200, Line({{"status", id->ToString()}}));
  });
}

// Docker's reference filter: the pattern matches a tag's familiar name or name:tag.
bool MatchesReference(const image::ImageSummary& s, const std::set<std::string>& patterns) {
  for (const std::string& pattern : patterns) {
    for (const auto& names : {s.repo_tags, s.repo_digests}) {
      for (const std::string& n : names) {
        auto ref = oci::ParseReference(n);
        if (!ref) continue;
        if (PathMatch(pattern, ref->FamiliarName()) || PathMatch(pattern, ref->FamiliarString()))
          return true;
      }
    }
  }
  return false;
}

bool MatchesLabels(const image::ImageSummary& s, const std::set<std::string>& wanted) {
  for (const std::string& l : wanted) {
    size_t eq = l.find('=');
    auto it = s.labels.find(l.substr(0, eq));
    if (it == s.labels.end()) return false;
    if (eq != std::string::npos && it->second != l.substr(eq + 1)) return false;
  }
  return true;
}

base::Result<Response> List(const ImageContext* ctx, const Query& q) {
  Filters f = TRY(Filters::Parse(q.Get("filters")));
  TRY(f.Validate({"dangling", "reference", "label", "before", "since"}));
  std::optional<bool> dangling = TRY(f.Bool("dangling"));
  auto images = TRY(ctx->stores->service->List());
  // before/since name an image: keep those added earlier or later than it (List is newest
  // first).
  auto bound = [&](const char* key) -> base::Result<std::optional<std::string>> {
    if (!f.Has(key)) return std::optional<std::string>();
    auto rec = TRY(ctx->stores->service->Resolve(*f.Get(key).begin()));
    return std::optional<std::string>(rec.id.ToString());
  };
  std::optional<std::string> before = TRY(bound("before")), since = TRY(bound("since"));
  json out = json::array();
  bool seen_before = false, seen_since = false;
  for (const auto& s : images) {
    bool is_before = seen_before, is_since = !seen_since;
    if (before && s.id == *before) seen_before = true;
    if (since && s.id == *since) seen_since = true;
    if (before && (!is_before || s.id == *before)) continue;
    if (since && (!is_since || s.id == *since)) continue;
    bool untagged = s.repo_tags.empty();
    if (dangling && *dangling != untagged) continue;
    if (f.Has("reference") && !MatchesReference(s, f.Get("reference"))) continue;
    if (f.Has("label") && !MatchesLabels(s, f.Get("label"))) continue;
    json j = image::ToJson(s);
    // dockerd 20.10 shows untagged images this way; the CLI prints <none> for both columns.
    if (untagged) j["RepoTags"] = json::array({"<none>:<none>"});
    if (s.repo_digests.empty() && untagged) j["RepoDigests"] = json::array({"<none>@<none>"});
    out.push_back(std::move(j));
  }
  return Response::Json(200, out.dump());
}

base::Result<Response> Inspect(const ImageContext* ctx, const Request& req) {
  auto i = TRY(ctx->stores->service->Inspect(req.params.at("name")));
  json j = image::ToJson(i);
  // compose reads ContainerConfig (reference §5); berth builds nothing, so it is the config.
  j["ContainerConfig"] = j["Config"];
  j["GraphDriver"] = {{"Name", "overlayfs"}, {"Data", nullptr}};
  return Response::Json(200, j.dump());
}

base::Result<Response> History(const ImageContext* ctx, const Request& req) {
  auto h = TRY(ctx->stores->service->History(req.params.at("name")));
  json out = json::array();
  for (const auto& e : h) out.push_back(image::ToJson(e));
  return Response::Json(200, out.dump());
}

base::Result<Response> Tag(const ImageContext* ctx, const Request& req, const Query& q) {
  std::string repo = q.Get("repo");
  if (repo.empty()) return base::Fail(base::Error::InvalidArgument("repository name is required"));
  auto target = TRY(ParseImageRef(repo, q.Get("tag")));
  if (target.digest)
    return base::Fail(base::Error::InvalidArgument("refusing to create a tag with a digest"));
  TRY(ctx->stores->service->Tag(req.params.at("name"), target.String()));
  PublishImageEvent(ctx, ImageIdOf(ctx, target.String()), target.FamiliarString(), "tag");
  Response created;
  created.status = 201;
  return created;
}

base::Result<Response> Remove(const ImageContext* ctx, const Request& req, const Query& q) {
  std::string id = ImageIdOf(ctx, req.params.at("name"));
  auto items =
      TRY(ctx->stores->service->Remove(req.params.at("name"), q.Bool("force"), !q.Bool("noprune")));
  json out = json::array();
  for (const auto& i : items) {
    out.push_back(image::ToJson(i));
    if (!i.untagged.empty()) PublishImageEvent(ctx, id, id, "untag");
    if (!i.deleted.empty()) PublishImageEvent(ctx, i.deleted, i.deleted, "delete");
  }
  return Response::Json(200, out.dump());
}

// Buffers tar writes into chunks of about 64 KiB.
class ChunkSink : public archive::ByteSink {
 public:
  explicit ChunkSink(BodyWriter& w) : w_(w) {}
  base::Status Write(const void* data, size_t size) override {
    buf_.append(static_cast<const char*>(data), size);
    if (buf_.size() >= (64 << 10)) return Flush();
    return {};
  }
  base::Status Flush() {
    bool ok = w_.Write(buf_);
    buf_.clear();
    if (!ok) return base::Fail(base::Error::Unavailable("client went away"));
    return {};
  }

 private:
  BodyWriter& w_;
  std::string buf_;
};

base::Result<Response> Save(const ImageContext* ctx, std::vector<std::string> names) {
  if (names.empty()) return base::Fail(base::Error::InvalidArgument("no images to save"));
  // Unknown names get a 404 before the tar starts.
  for (const std::string& n : names) TRY(ctx->stores->service->Resolve(n));
  Response r;
  r.content_type = "application/x-tar";
  r.stream = [ctx, names](BodyWriter& w) {
    ChunkSink sink(w);
    auto st = image::Save(names, *ctx->stores->content, *ctx->stores->meta, sink);
    if (st) st = sink.Flush();
    if (!st) {
      base::LogWarn("save: {}", st.error().message());
      w.Abort();
      return;
    }
    for (const std::string& n : names) {
      std::string id = ImageIdOf(ctx, n);
      PublishImageEvent(ctx, id, id, "save");
    }
  };
  return r;
}

Response Load(const ImageContext* ctx, Request& req, const Query& q) {
  return Response::Deferred([ctx, quiet = q.Bool("quiet"), body = std::move(req.body)] {
    archive::MemorySource source(body);
    image::LoadOptions opts;
    opts.unpack = [ctx](const image::ImageRecord& rec) { return UnpackImage(*ctx->stores, rec); };
    auto names = image::Load(source, *ctx->stores->content, *ctx->stores->meta, opts);
    if (!names) return Response::FromError(names.error());
    std::string out;
    for (const auto& n : *names) {
      bool id = base::StartsWith(n, "sha256:");
      out += Line({{"stream", (id ? "Loaded image ID: " : "Loaded image: ") + n + "\n"}});
      std::string image_id = ImageIdOf(ctx, n);
      PublishImageEvent(ctx, image_id, image_id, "load");
    }
    (void)quiet;  // dockerd prints the same lines either way; quiet only hides progress bars
    return Response::Json(200, out);
  });
}

base::Result<Response> Prune(const ImageContext* ctx, const Query& q) {
  Filters f = TRY(Filters::Parse(q.Get("filters")));
  TRY(f.Validate({"dangling", "label", "until"}));
  std::optional<bool> dangling = TRY(f.Bool("dangling"));
  return Response::Deferred([ctx, all = dangling && !*dangling]() -> Response {
    image::PruneReport report;
    if (all) {
      // `image prune -a`: every image no container uses. Without container usage wired in,
      // that is every image.
      auto images = ctx->stores->service->List();
      if (!images) return Response::FromError(images.error());
      std::set<std::string> done;
      for (const auto& s : *images) {
        if (!done.insert(s.id).second) continue;
        auto items = ctx->stores->service->Remove(s.id, /*force=*/false);
        if (!items) continue;  // in use, or referenced in several repositories
        report.deleted.insert(report.deleted.end(), items->begin(), items->end());
      }
      report.space_reclaimed = 0;
    } else {
      auto r = ctx->stores->service->PruneDangling();
      if (!r) return Response::FromError(r.error());
      report = std::move(*r);
    }
    json deleted = json::array();
    for (const auto& d : report.deleted) {
      deleted.push_back(image::ToJson(d));
      if (!d.deleted.empty()) PublishImageEvent(ctx, d.deleted, d.deleted, "delete");
    }
    if (ctx->events) {
      Event e;
      e.type = "image";
      e.action = "prune";
      e.attributes["reclaimed"] = std::to_string(report.space_reclaimed);
      ctx->events->Publish(std::move(e));
    }
    json out = {{"ImagesDeleted", deleted.empty() ? json(nullptr) : deleted},
                {"SpaceReclaimed", report.space_reclaimed}};
    return Response::Json(200, out.dump());
  });
}

base::Result<Response> Auth(const ImageContext* ctx, const Request& req) {
  json j = json::parse(req.body, nullptr, false);
  if (!j.is_object()) return base::Fail(base::Error::InvalidArgument("invalid JSON body"));
  std::string user = j.value("username", ""), password = j.value("password", "");
  std::string server = j.value("serveraddress", "");
  std::string domain = server.empty() ? "docker.io" : registry::NormalizeAuthKey(server);
  return Response::Deferred([ctx, user, password, domain]() -> Response {
    registry::ClientOptions copts;
    copts.hosts = ctx->hosts;
    copts.max_attempts = 2;
    registry::Client client(copts);
    if (auto st = client.Login(domain, user, password); !st) {
      const base::Error& e = st.error();
      int status = e.code() == base::ErrorCode::kPermissionDenied ? 401 : HttpStatusFor(e.code());
      return Response::ErrorMessage(status, e.message());
    }
    return Response::Json(200, json{{"Status", "Login Succeeded"}, {"IdentityToken", ""}}.dump());
  });
}

}  // namespace

base::Result<std::optional<RegistryAuth>> DecodeRegistryAuth(std::string_view header) {
  std::string text(base::Trim(header));
  if (text.empty()) return std::optional<RegistryAuth>();
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  auto decoded = registry::Base64Decode(text);
  json j = decoded ? json::parse(*decoded, nullptr, false) : json();
  if (!j.is_object())
    return base::Fail(base::Error::InvalidArgument("invalid X-Registry-Auth header"));
  RegistryAuth a;
  a.username = j.value("username", "");
  a.password = j.value("password", "");
  a.server_address = j.value("serveraddress", "");
  if (a.username.empty() && a.password.empty()) return std::optional<RegistryAuth>();
  return std::optional<RegistryAuth>(std::move(a));
}

std::string ProgressBar(int64_t current, int64_t total) {
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return fmt::format("{:>8}", HumanSize(double(current)));
  int percentage = int(double(current) / double(total) * 100) / 2;
  percentage = std::min(percentage, 50);
  int spaces = std::max(0, 50 - percentage);
  return fmt::format("[{}>{}] {:>8}/{}", std::string(percentage, '='), std::string(spaces, ' '),
                     HumanSize(double(current)), HumanSize(double(total)));
}

void AddImageRoutes(Router& router, const ImageContext* ctx) {
  router.Add("POST", "/images/create", [ctx](Request& req) -> base::Result<Response> {
    Query q(req.query);
    if (q.Has("fromImage")) return Pull(ctx, req, q);
    if (q.Has("fromSrc")) return Import(ctx, req, q);
    return base::Fail(base::Error::InvalidArgument("fromImage or fromSrc is required"));
  });
  router.Add("GET", "/images/json", [ctx](Request& req) { return List(ctx, Query(req.query)); });
  router.Add("GET", "/images/get",
             [ctx](Request& req) { return Save(ctx, Query(req.query).GetAll("names")); });
  router.Add("POST", "/images/load", [ctx](Request& req) -> base::Result<Response> {
    return Load(ctx, req, Query(req.query));
  });
  router.Add("POST", "/images/prune", [ctx](Request& req) { return Prune(ctx, Query(req.query)); });
  router.Add("POST", "/auth", [ctx](Request& req) { return Auth(ctx, req); });
  router.Add("GET", "/images/{name*}/json", [ctx](Request& req) { return Inspect(ctx, req); });
  router.Add("GET", "/images/{name*}/history", [ctx](Request& req) { return History(ctx, req); });
  router.Add("GET", "/images/{name*}/get",
             [ctx](Request& req) { return Save(ctx, {req.params.at("name")}); });
  router.Add("POST", "/images/{name*}/push", [ctx](Request& req) -> base::Result<Response> {
    return Push(ctx, req, Query(req.query));
  });
  router.Add("POST", "/images/{name*}/tag",
             [ctx](Request& req) { return Tag(ctx, req, Query(req.query)); });
  router.Add("DELETE", "/images/{name*}",
             [ctx](Request& req) { return Remove(ctx, req, Query(req.query)); });
}

}  // namespace berth::daemon
