// docker save / docker load over the content store and metadata database. See save_load.h.
#include "image/save_load.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "archive/compression.h"
#include "archive/tar_reader.h"
#include "archive/tar_writer.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "oci/reference.h"

namespace berth::image {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;
using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

constexpr const char* kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
constexpr const char* kDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";
constexpr const char* kAnnotationImageName = "io.containerd.image.name";
constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";
constexpr size_t kBufSize = 256 << 10;
constexpr int64_t kMaxConfigSize = 64 << 20;

// ---------------------------------------------------------------------------------------------
// Shared

struct LayerInfo {
  oci::Digest diff_id;
  int64_t uncompressed_size = 0;
  archive::Compression compression = archive::Compression::kNone;
};

// Decompresses a stored blob and returns its uncompressed digest and size.
Result<LayerInfo> InspectLayer(const ContentStore& content, const oci::Digest& blob) {
  sys::UniqueFd fd = TRY(content.Open(blob));
  archive::FdSource file(fd.get());
  oci::Sha256 hash;
  archive::DecompressingSource source(
      file, archive::StreamTaps{.compressed = {}, .uncompressed = [&](const void* d, size_t n) {
                                  hash.Update(d, n);
                                }});
  std::vector<uint8_t> buf(kBufSize);
  while (true) {
    size_t n = TRY_CTX(source.Read(buf.data(), buf.size()),
                       fmt::format("decompress layer {}", blob.ToString()));
    if (n == 0) break;
  }
  return LayerInfo{hash.Finish(), static_cast<int64_t>(source.uncompressed_bytes()),
                   source.compression()};
}

// Never throws: strings from the store may hold invalid UTF-8.
std::string Dump(const OJson& j) { return j.dump(-1, ' ', false, OJson::error_handler_t::replace); }

std::string FamiliarOrSelf(const std::string& name) {
  auto ref = oci::ParseReference(name);
  return ref ? ref->FamiliarString() : name;
}

// ---------------------------------------------------------------------------------------------
// Save

struct SaveImage {
  ImageRecord record;
  std::string config_bytes;
  oci::ImageConfig config;
  std::vector<oci::ImageReference> tags;  // in the order the refs named them
};

Result<ImageRecord> ResolveUserRef(MetadataStore& metadata, const std::string& ref,
                                   std::optional<oci::ImageReference>* tag) {
  if (auto parsed = oci::ParseReference(ref)) {
    if (auto rec = metadata.ResolveName(parsed->String())) {
      if (!parsed->tag.empty() && !parsed->digest) *tag = *parsed;
      return rec;
    }
  }
  if (auto rec = metadata.ResolveName(ref)) return rec;
  if (auto rec = metadata.ResolveIdPrefix(ref))
    return rec;
  else if (rec.error().code() == base::ErrorCode::kConflict)
    return Fail(std::move(rec).error());
  return Fail(Error::NotFound(fmt::format("reference does not exist: \"{}\"", ref)));
}

// Docker's legacy layer IDs only have to be stable and unique per (parent, layer, image top);
// readers treat them as opaque directory names.
std::string V1Id(const std::string& parent, const oci::Digest& diff_id, const oci::Digest* config) {
  std::string key = parent + "\n" + diff_id.ToString();
  if (config != nullptr) key += "\n" + config->ToString();
  return oci::Sha256Of(key).hex();
}

std::string V1Json(const std::string& id, const std::string& parent, const SaveImage* top) {
  OJson o = OJson::object();
  if (top != nullptr) {
    // The top layer carries the image config, as `docker save` writes it.
    OJson config = OJson::parse(top->config_bytes, nullptr, false);
    if (config.is_object()) {
      config.erase("history");
      config.erase("rootfs");
      o = std::move(config);
    }
  }
  o["id"] = id;
  if (!parent.empty()) o["parent"] = parent;
  if (!o.contains("created")) o["created"] = "1970-01-01T00:00:00Z";
  return Dump(o);
}

}  // namespace

Status Save(const std::vector<std::string>& refs, const ContentStore& content,
            MetadataStore& metadata, archive::ByteSink& out) {
  if (refs.empty()) return Fail(Error::InvalidArgument("save: no images given"));
  std::vector<SaveImage> images;
  std::map<oci::Digest, size_t> by_id;
  for (const auto& ref : refs) {
    std::optional<oci::ImageReference> tag;
    ImageRecord rec = TRY_CTX(ResolveUserRef(metadata, ref, &tag), "save");
    auto [it, inserted] = by_id.try_emplace(rec.id, images.size());
    if (inserted) {
      SaveImage img;
      img.config_bytes = TRY_CTX(content.ReadAll(rec.id, kMaxConfigSize),
                                 fmt::format("save {}: read config", ref));
      img.config =
          TRY_CTX(oci::ParseImageConfig(img.config_bytes), fmt::format("save {}: config", ref));
      if (img.config.diff_ids.size() != rec.layers.size()) {
        return Fail(
            Error::Internal(fmt::format("save {}: config has {} diff_ids but the image {} layers",
                                        ref, img.config.diff_ids.size(), rec.layers.size())));
      }
      img.record = std::move(rec);
      images.push_back(std::move(img));
    }
    SaveImage& img = images[it->second];
    if (tag && std::find(img.tags.begin(), img.tags.end(), *tag) == img.tags.end())
      img.tags.push_back(*tag);
  }

  archive::TarWriter tar(out);
  std::set<std::string> written;               // member names already in the tar
  std::map<oci::Digest, std::string> by_diff;  // diff_id -> first layer.tar written for it
  std::map<oci::Digest, int64_t> layer_sizes;  // diff_id -> uncompressed size
  OJson manifest_json = OJson::array();
  OJson repositories = OJson::object();
  oci::Index index;
  index.media_type = oci::media::kOciIndex;
  std::vector<std::pair<std::string, std::string>> oci_blobs;  // name, bytes (small blobs)
  std::vector<std::pair<std::string, std::string>> oci_links;  // name, symlink target

  for (const SaveImage& img : images) {
    const auto& layers = img.record.layers;
    std::string parent;
    OJson layer_paths = OJson::array();
    oci::Manifest oci_manifest;
    oci_manifest.media_type = oci::media::kOciManifest;
    oci_manifest.config = {.media_type = oci::media::kOciConfig,
                           .digest = img.record.id,
                           .size = static_cast<int64_t>(img.config_bytes.size())};
    for (size_t i = 0; i < layers.size(); ++i) {
      const oci::Digest& diff_id = img.config.diff_ids[i];
      bool top = i + 1 == layers.size();
      std::string id = V1Id(parent, diff_id, top ? &img.record.id : nullptr);
      std::string layer_path = id + "/layer.tar";
      if (written.insert(id).second) {
        TRY(tar.AddDirectory(id));
        TRY(tar.AddFile(id + "/VERSION", "1.0"));
        TRY(tar.AddFile(id + "/json", V1Json(id, parent, top ? &img : nullptr)));
        if (auto first = by_diff.find(diff_id); first != by_diff.end()) {
          // Same content under another chain: a link, as docker save writes it.
          TRY(tar.AddSymlink(layer_path, "../" + first->second));
        } else {
          LayerInfo info = TRY_CTX(InspectLayer(content, layers[i].blob),
                                   fmt::format("save {}", img.record.id.ToString()));
          if (info.diff_id != diff_id) {
            return Fail(Error::Internal(fmt::format(
                "save: stored layer {} is corrupt: diff_id {}, expected {}",
                layers[i].blob.ToString(), info.diff_id.ToString(), diff_id.ToString())));
          }
          sys::UniqueFd fd = TRY(content.Open(layers[i].blob));
          archive::FdSource file(fd.get());
          archive::DecompressingSource source(file);
          TRY(tar.AddFile(layer_path, info.uncompressed_size, source));
          by_diff.emplace(diff_id, layer_path);
          layer_sizes.emplace(diff_id, info.uncompressed_size);
        }
      }
      layer_paths.push_back(layer_path);
      oci_manifest.layers.push_back({.media_type = oci::media::kOciLayer,
                                     .digest = diff_id,
                                     .size = layer_sizes.at(diff_id)});
      std::string blob_name = "blobs/sha256/" + diff_id.hex();
      if (written.insert(blob_name).second)
        oci_links.emplace_back(blob_name, "../../" + by_diff.at(diff_id));
      parent = id;
    }
    std::string config_name = img.record.id.hex() + ".json";
    if (written.insert(config_name).second) TRY(tar.AddFile(config_name, img.config_bytes));
    if (written.insert("blobs/sha256/" + img.record.id.hex()).second)
      oci_blobs.emplace_back("blobs/sha256/" + img.record.id.hex(), img.config_bytes);

    OJson entry = OJson::object();
    entry["Config"] = config_name;
    OJson repo_tags = OJson::array();
    for (const auto& t : img.tags) repo_tags.push_back(t.FamiliarString());
    entry["RepoTags"] = std::move(repo_tags);
    entry["Layers"] = std::move(layer_paths);
    manifest_json.push_back(std::move(entry));

    std::string manifest_bytes = oci::SerializeManifest(oci_manifest);
    oci::Digest manifest_digest = oci::Sha256Of(manifest_bytes);
    oci::Descriptor desc{.media_type = oci::media::kOciManifest,
                         .digest = manifest_digest,
                         .size = static_cast<int64_t>(manifest_bytes.size())};
    if (written.insert("blobs/sha256/" + manifest_digest.hex()).second)
      oci_blobs.emplace_back("blobs/sha256/" + manifest_digest.hex(), std::move(manifest_bytes));
    if (img.tags.empty()) index.manifests.push_back(desc);
    for (const auto& t : img.tags) {
      oci::Descriptor tagged = desc;
      tagged.annotations[kAnnotationImageName] = t.String();
      tagged.annotations[kAnnotationRefName] = t.tag;
      index.manifests.push_back(std::move(tagged));
      if (!parent.empty()) repositories[t.FamiliarName()][t.tag] = parent;
    }
  }

  TRY(tar.AddDirectory("blobs"));
  TRY(tar.AddDirectory("blobs/sha256"));
  for (const auto& [name, bytes] : oci_blobs) TRY(tar.AddFile(name, bytes));
  for (const auto& [name, target] : oci_links) TRY(tar.AddSymlink(name, target));
  TRY(tar.AddFile("index.json", oci::SerializeIndex(index)));
  TRY(tar.AddFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  TRY(tar.AddFile("manifest.json", Dump(manifest_json)));
  if (!repositories.empty()) TRY(tar.AddFile("repositories", Dump(repositories)));
  return tar.Finish();
}

// ---------------------------------------------------------------------------------------------
// Load

namespace {

// Where the bytes of one archive member went: small metadata files stay in memory, everything
// else is streamed into the content store as it is read.
struct StoredMember {
  bool in_memory = false;
  std::string data;
  oci::Digest blob;
  int64_t size = 0;
};

// The archive's members by cleaned name, and its links.
class ArchiveIndex {
 public:
  std::map<std::string, StoredMember> files;
  std::map<std::string, std::string> links;  // name -> target name (cleaned, archive-relative)

  // Follows links (at most 16) to a stored member. NotFound names the path.
  Result<const StoredMember*> Find(const std::string& path) const {
    std::string name = path;
    for (int hops = 0; hops <= 16; ++hops) {
      if (auto f = files.find(name); f != files.end()) return &f->second;
      auto l = links.find(name);
      if (l == links.end()) break;
      name = l->second;
    }
    return Fail(Error::NotFound(fmt::format("\"{}\" not found in the archive", path)));
  }
};

// Splits a name into components, dropping "." and empty ones. nullopt when a ".." climbs above
// the archive root.
std::optional<std::vector<std::string>> CleanComponents(std::string_view name,
                                                        std::vector<std::string> base = {}) {
  for (auto& c : base::Split(name, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (base.empty()) return std::nullopt;
      base.pop_back();
      continue;
    }
    base.push_back(std::move(c));
  }
  return base;
}

// A member name as the archive stores it -> its cleaned name ("" for the root itself).
Result<std::string> CleanMemberName(std::string_view name) {
  if (name.starts_with('/') || name.find('\0') != std::string_view::npos)
    return Fail(Error::InvalidArgument(fmt::format("member \"{}\": absolute name", name)));
  auto parts = CleanComponents(name);
  if (!parts)
    return Fail(Error::InvalidArgument(fmt::format("member \"{}\": escapes the archive", name)));
  return base::Join(*parts, "/");
}

// A path named inside manifest.json: plain relative components only.
Status CheckPlainPath(std::string_view path, std::string_view field) {
  if (path.empty() || path.size() > 4096)
    return Fail(Error::InvalidArgument(fmt::format("{}: invalid path \"{}\"", field, path)));
  for (const auto& c : base::Split(path, '/')) {
    bool control = false;
    for (char ch : c) control |= static_cast<unsigned char>(ch) < 0x20;
    if (c.empty() || c == "." || c == ".." || control) {
      return Fail(Error::InvalidArgument(
          fmt::format("{}: \"{}\" is not a plain relative path in the archive", field, path)));
    }
  }
  return {};
}

bool IsMetadataName(const std::string& name) {
  std::string_view base_name = name.substr(name.rfind('/') + 1);
  return name == "manifest.json" || name == "index.json" || name == "oci-layout" ||
         name == "repositories" || base_name == "json" || base_name == "VERSION" ||
         base::EndsWith(name, ".json");
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

class Loader {
 public:
  Loader(ContentStore& content, MetadataStore& metadata, const LoadOptions& options,
         std::string lease)
      : content_(content), metadata_(metadata), options_(options), lease_(std::move(lease)) {}

  Status ReadArchive(archive::ByteSource& in) {
    archive::TarReader reader(in);
    size_t count = 0;
    while (true) {
      auto entry = TRY(reader.Next());
      if (!entry) break;
      if (++count > options_.max_entries) {
        return Fail(Error::InvalidArgument(
            fmt::format("archive has more than {} members", options_.max_entries)));
      }
      std::string name = TRY(CleanMemberName(entry->name));
      if (name.empty()) continue;
      switch (entry->kind) {
        case archive::TarEntry::Kind::kRegular: {
          index_.links.erase(name);
          StoredMember m = TRY_CTX(StoreMember(name, entry->size, reader.content()),
                                   fmt::format("member \"{}\"", name));
          index_.files[name] = std::move(m);
          break;
        }
        case archive::TarEntry::Kind::kSymlink:
        case archive::TarEntry::Kind::kHardlink: {
          std::vector<std::string> dir;
          if (entry->kind == archive::TarEntry::Kind::kSymlink) {
            // Symlink targets are relative to the link's directory; absolute ones would leave
            // the archive (they are left dangling, so a lookup through them fails).
            if (entry->link.starts_with('/')) continue;
            dir = *CleanComponents(name);
            dir.pop_back();
          }
          auto target = CleanComponents(entry->link, std::move(dir));
          if (!target) continue;
          index_.files.erase(name);
          index_.links[name] = base::Join(*target, "/");
          break;
        }
        default:
          break;
      }
    }
    return {};
  }

  // Every blob this load wrote or found in the store, sorted and unique.
  std::vector<oci::Digest> Touched() const {
    std::vector<oci::Digest> out = touched_;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Result<std::vector<std::string>> Import() {
    if (index_.files.contains("manifest.json")) {
      TRY_CTX(LoadDockerArchive(), "docker-archive");
    } else if (index_.files.contains("index.json")) {
      TRY_CTX(LoadOciLayout(), "OCI layout");
    } else {
      return Fail(Error::InvalidArgument(
          "neither manifest.json nor index.json found: not a docker save or OCI layout tar"));
    }
    std::vector<std::string> loaded;
    for (auto& rec : records_) {
      // The store only holds what we wrote, unless a collector raced the lease; make sure.
      for (const auto& l : rec.layers) {
        if (!content_.Exists(l.blob))
          return Fail(Error::Unavailable(fmt::format("blob {} vanished", l.blob.ToString())));
      }
      TRY(metadata_.PutImage(rec));
      if (rec.names.empty()) loaded.push_back(rec.id.ToString());
      for (const auto& n : rec.names) loaded.push_back(FamiliarOrSelf(n));
    }
    for (const auto& rec : records_) {
      if (options_.unpack)
        TRY_CTX(options_.unpack(rec), fmt::format("unpack {}", rec.id.ToString()));
    }
    return loaded;
  }

 private:
  Result<StoredMember> StoreMember(const std::string& name, int64_t size,
                                   archive::ByteSource& source) {
    StoredMember m;
    m.size = size;
    // Many metadata members must not add up to unbounded memory: past the budget they go to
    // the store like any other member (and are read back from there when needed).
    if (IsMetadataName(name) && size <= options_.max_json_size &&
        memory_used_ + size <= 4 * options_.max_json_size) {
      memory_used_ += size;
      m.in_memory = true;
      m.data.resize(static_cast<size_t>(size));
      size_t got = 0;
      while (got < m.data.size()) {
        size_t n = TRY(source.Read(m.data.data() + got, m.data.size() - got));
        if (n == 0) return Fail(Error::InvalidArgument("truncated"));
        got += n;
      }
      return m;
    }
    // OCI layout blobs name their digest; it is checked on commit.
    std::optional<oci::Digest> expected;
    if (name.starts_with("blobs/sha256/")) {
      auto d = oci::Digest::Parse("sha256:" + name.substr(13));
      if (d) expected = *d;
    }
    if (expected) {
      TRY(metadata_.AddLeaseBlob(lease_, *expected));
      touched_.push_back(*expected);
      if (content_.Exists(*expected)) {
        m.blob = *expected;
        return m;  // TarReader::Next skips the unread bytes
      }
    }
    auto writer =
        TRY(content_.Writer(fmt::format("load-{}-{}", lease_, ++ingests_), expected, size));
    base::ScopeGuard abort([&] { (void)writer->Abort(); });
    std::vector<uint8_t> buf(kBufSize);
    while (true) {
      size_t n = TRY(source.Read(buf.data(), buf.size()));
      if (n == 0) break;
      TRY(writer->Write(buf.data(), n));
    }
    m.blob = TRY(writer->Commit());
    abort.Dismiss();
    if (!expected) {
      TRY(metadata_.AddLeaseBlob(lease_, m.blob));
      touched_.push_back(m.blob);
    }
    return m;
  }

  // The digest of a member in the content store, storing in-memory members first.
  Result<oci::Digest> BlobOf(const std::string& path) {
    const StoredMember* m = TRY(index_.Find(path));
    if (!m->in_memory) return m->blob;
    oci::Digest d = oci::Sha256Of(m->data);
    TRY(metadata_.AddLeaseBlob(lease_, d));
    touched_.push_back(d);
    return TRY(content_.Put(m->data, d));
  }

  Result<std::string> BytesOf(const std::string& path) {
    const StoredMember* m = TRY(index_.Find(path));
    if (m->in_memory) return m->data;
    if (m->size > options_.max_json_size) {
      return Fail(Error::InvalidArgument(
          fmt::format("\"{}\" is larger than {} bytes", path, options_.max_json_size)));
    }
    return content_.ReadAll(m->blob, options_.max_json_size);
  }

  Result<LayerInfo> CheckLayer(const oci::Digest& blob, const oci::Digest& diff_id) {
    auto it = inspected_.find(blob);
    if (it == inspected_.end())
      it = inspected_.emplace(blob, TRY(InspectLayer(content_, blob))).first;
    if (it->second.diff_id != diff_id) {
      return Fail(Error::InvalidArgument(
          fmt::format("layer {}: diff_id mismatch: expected {}, got {}", blob.ToString(),
                      diff_id.ToString(), it->second.diff_id.ToString())));
    }
    return it->second;
  }

  Result<Json> ParseJson(const std::string& text, std::string_view what) {
    Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
      return Fail(Error::InvalidArgument(fmt::format("{}: invalid JSON", what)));
    return j;
  }

  // Adds or extends the record for an image (several entries may name one image).
  void AddRecord(ImageRecord rec) {
    for (auto& r : records_) {
      if (r.id == rec.id) {
        for (auto& n : rec.names) {
          if (std::find(r.names.begin(), r.names.end(), n) == r.names.end()) r.names.push_back(n);
        }
        return;
      }
    }
    records_.push_back(std::move(rec));
  }

  void FillFromConfig(ImageRecord& rec, const oci::ImageConfig& config) {
    rec.created = config.created;
    rec.platform.os = config.os;
    rec.platform.architecture = config.architecture;
    rec.platform.variant = config.variant;
  }

  Status LoadDockerArchive() {
    Json manifest = TRY(ParseJson(TRY(BytesOf("manifest.json")), "manifest.json"));
    if (!manifest.is_array())
      return Fail(Error::InvalidArgument("manifest.json: expected an array"));
    if (manifest.size() > options_.max_images) {
      return Fail(Error::InvalidArgument(
          fmt::format("manifest.json: more than {} images", options_.max_images)));
    }
    for (size_t i = 0; i < manifest.size(); ++i) {
      TRY_CTX(LoadDockerEntry(manifest[i]), fmt::format("manifest.json[{}]", i));
    }
    return {};
  }

  Status LoadDockerEntry(const Json& entry) {
    if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string())
      return Fail(Error::InvalidArgument("Config: expected a string"));
    const std::string config_path = entry["Config"].get<std::string>();
    TRY(CheckPlainPath(config_path, "Config"));
    std::vector<std::string> layer_paths;
    if (entry.contains("Layers") && !entry["Layers"].is_null()) {
      if (!entry["Layers"].is_array())
        return Fail(Error::InvalidArgument("Layers: expected an array"));
      if (entry["Layers"].size() > options_.max_layers) {
        return Fail(Error::InvalidArgument(
            fmt::format("Layers: more than {} layers", options_.max_layers)));
      }
      for (const auto& l : entry["Layers"]) {
        if (!l.is_string()) return Fail(Error::InvalidArgument("Layers: expected strings"));
        TRY(CheckPlainPath(l.get<std::string>(), "Layers"));
        layer_paths.push_back(l.get<std::string>());
      }
    }
    ImageRecord rec;
    if (entry.contains("RepoTags") && !entry["RepoTags"].is_null()) {
      if (!entry["RepoTags"].is_array())
        return Fail(Error::InvalidArgument("RepoTags: expected an array"));
      for (const auto& t : entry["RepoTags"]) {
        if (!t.is_string()) return Fail(Error::InvalidArgument("RepoTags: expected strings"));
        auto ref = TRY_CTX(oci::ParseReference(t.get<std::string>()),
                           fmt::format("RepoTags: \"{}\"", t.get<std::string>()));
        if (ref.digest) {
          return Fail(Error::InvalidArgument(
              fmt::format("RepoTags: \"{}\" is not a tag", t.get<std::string>())));
        }
        rec.names.push_back(ref.String());
      }
    }

    std::string config_bytes = TRY_CTX(BytesOf(config_path), "Config");
    oci::ImageConfig config = TRY_CTX(oci::ParseImageConfig(config_bytes), "Config");
    if (config.diff_ids.size() != layer_paths.size()) {
      return Fail(
          Error::InvalidArgument(fmt::format("{} layers listed but the config has {} diff_ids",
                                             layer_paths.size(), config.diff_ids.size())));
    }
    rec.id = oci::Sha256Of(config_bytes);
    TRY(metadata_.AddLeaseBlob(lease_, rec.id));
    touched_.push_back(rec.id);
    TRY(content_.Put(config_bytes, rec.id));

    oci::Manifest m;
    m.media_type = oci::media::kDockerManifest;
    m.config = {.media_type = oci::media::kDockerConfig,
                .digest = rec.id,
                .size = static_cast<int64_t>(config_bytes.size())};
    for (size_t i = 0; i < layer_paths.size(); ++i) {
      oci::Digest blob = TRY_CTX(BlobOf(layer_paths[i]), fmt::format("Layers[{}]", i));
      LayerInfo info = TRY_CTX(CheckLayer(blob, config.diff_ids[i]), fmt::format("Layers[{}]", i));
      auto stat = TRY(content_.Stat(blob));
      const char* media_type = info.compression == archive::Compression::kGzip
                                   ? oci::media::kDockerLayerGzip
                               : info.compression == archive::Compression::kZstd ? kDockerLayerZstd
                                                                                 : kDockerLayerTar;
      m.layers.push_back({.media_type = media_type, .digest = blob, .size = stat.size});
      rec.size += info.uncompressed_size;
    }
    std::string manifest_bytes = oci::SerializeManifest(m);
    rec.manifest_digest = oci::Sha256Of(manifest_bytes);
    TRY(metadata_.AddLeaseBlob(lease_, rec.manifest_digest));
    touched_.push_back(rec.manifest_digest);
    TRY(content_.Put(manifest_bytes, rec.manifest_digest));
    rec.target = {.media_type = oci::media::kDockerManifest,
                  .digest = rec.manifest_digest,
                  .size = static_cast<int64_t>(manifest_bytes.size())};
    FillFromConfig(rec, config);
    FillLayers(rec, m, config);
    AddRecord(std::move(rec));
    return {};
  }

  void FillLayers(ImageRecord& rec, const oci::Manifest& m, const oci::ImageConfig& config) {
    std::vector<oci::Digest> chain = oci::ChainIds(config.diff_ids);
    for (size_t i = 0; i < m.layers.size(); ++i) {
      rec.layers.push_back({.diff_id = config.diff_ids[i],
                            .chain_id = chain[i],
                            .blob = m.layers[i].digest,
                            .size = m.layers[i].size,
                            .media_type = m.layers[i].media_type});
    }
  }

  // An OCI layout blob named by a descriptor, checked against it.
  Result<oci::Digest> LayoutBlob(const oci::Descriptor& d) {
    if (d.digest.algorithm() != "sha256") {
      return Fail(Error::InvalidArgument(
          fmt::format("{}: only sha256 digests are supported", d.digest.ToString())));
    }
    oci::Digest blob = TRY(BlobOf("blobs/sha256/" + d.digest.hex()));
    if (blob != d.digest) {
      return Fail(Error::InvalidArgument(
          fmt::format("blob {}: digest mismatch: got {}", d.digest.ToString(), blob.ToString())));
    }
    auto stat = TRY(content_.Stat(blob));
    if (stat.size != d.size) {
      return Fail(Error::InvalidArgument(fmt::format("blob {}: size mismatch: expected {}, got {}",
                                                     d.digest.ToString(), d.size, stat.size)));
    }
    return blob;
  }

  Result<std::string> LayoutJson(const oci::Descriptor& d) {
    if (d.size > options_.max_json_size) {
      return Fail(Error::InvalidArgument(
          fmt::format("{}: {} bytes is too large", d.digest.ToString(), d.size)));
    }
    oci::Digest blob = TRY(LayoutBlob(d));
    return content_.ReadAll(blob, options_.max_json_size);
  }

  Status LoadOciLayout() {
    if (index_.files.contains("oci-layout")) {
      Json layout = TRY(ParseJson(TRY(BytesOf("oci-layout")), "oci-layout"));
      if (!layout.is_object() || !layout.contains("imageLayoutVersion"))
        return Fail(Error::InvalidArgument("oci-layout: imageLayoutVersion missing"));
    }
    oci::Index index = TRY_CTX(oci::ParseIndex(TRY(BytesOf("index.json"))), "index.json");
    if (index.manifests.size() > options_.max_images) {
      return Fail(Error::InvalidArgument(
          fmt::format("index.json: more than {} manifests", options_.max_images)));
    }
    for (size_t i = 0; i < index.manifests.size(); ++i) {
      TRY_CTX(LoadOciEntry(index.manifests[i]), fmt::format("index.json manifests[{}]", i));
    }
    return {};
  }

  Result<std::vector<std::string>> NamesOf(const oci::Descriptor& d) {
    std::vector<std::string> names;
    std::string text;
    if (auto it = d.annotations.find(kAnnotationImageName); it != d.annotations.end()) {
      text = it->second;
    } else if (auto r = d.annotations.find(kAnnotationRefName); r != d.annotations.end()) {
      // A bare tag ("latest") names no repository; only full references are names.
      if (r->second.find_first_of(":/") != std::string::npos) text = r->second;
    }
    if (!text.empty()) {
      auto ref = TRY_CTX(oci::ParseReference(text), fmt::format("image name \"{}\"", text));
      if (ref.digest)
        return Fail(Error::InvalidArgument(fmt::format("image name \"{}\" is not a tag", text)));
      names.push_back(ref.String());
    }
    return names;
  }

  Status LoadOciEntry(const oci::Descriptor& top) {
    ImageRecord rec;
    rec.names = TRY(NamesOf(top));
    rec.target = {.media_type = top.media_type, .digest = top.digest, .size = top.size};
    oci::Descriptor manifest_desc = top;
    if (oci::IsIndexMediaType(top.media_type)) {
      std::string index_bytes = TRY(LayoutJson(top));
      oci::Index nested = TRY(oci::ParseIndex(index_bytes));
      manifest_desc =
          TRY(oci::SelectPlatform(nested, options_.platform.value_or(oci::HostPlatform())));
      rec.blobs.push_back(top.digest);
    } else if (!oci::IsManifestMediaType(top.media_type)) {
      return {};  // an artifact or attestation, not an image
    }
    std::string manifest_bytes = TRY(LayoutJson(manifest_desc));
    oci::Manifest m = TRY_CTX(oci::ParseManifest(manifest_bytes), "manifest");
    if (m.layers.size() > options_.max_layers) {
      return Fail(Error::InvalidArgument(
          fmt::format("manifest: more than {} layers", options_.max_layers)));
    }
    rec.manifest_digest = manifest_desc.digest;
    std::string config_bytes = TRY_CTX(LayoutJson(m.config), "config");
    oci::ImageConfig config = TRY_CTX(oci::ParseImageConfig(config_bytes), "config");
    if (config.diff_ids.size() != m.layers.size()) {
      return Fail(
          Error::InvalidArgument(fmt::format("manifest has {} layers but the config {} diff_ids",
                                             m.layers.size(), config.diff_ids.size())));
    }
    rec.id = m.config.digest;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      TRY_CTX(oci::LayerCompression(m.layers[i].media_type), fmt::format("layers[{}]", i));
      oci::Digest blob = TRY_CTX(LayoutBlob(m.layers[i]), fmt::format("layers[{}]", i));
      LayerInfo info = TRY_CTX(CheckLayer(blob, config.diff_ids[i]), fmt::format("layers[{}]", i));
      rec.size += info.uncompressed_size;
    }
    FillFromConfig(rec, config);
    FillLayers(rec, m, config);
    AddRecord(std::move(rec));
    return {};
  }

  ContentStore& content_;
  MetadataStore& metadata_;
  const LoadOptions& options_;
  std::string lease_;
  ArchiveIndex index_;
  std::vector<oci::Digest> touched_;  // every blob written or found, for the cleanup
  std::map<oci::Digest, LayerInfo> inspected_;
  std::vector<ImageRecord> records_;
  int ingests_ = 0;
  int64_t memory_used_ = 0;
};

}  // namespace

Result<std::vector<std::string>> Load(archive::ByteSource& in, ContentStore& content,
                                      MetadataStore& metadata, const LoadOptions& options) {
  std::string lease = "load-" + RandomHex(8);
  // Expires on its own should this process die mid-load; deleted at the end otherwise.
  TRY_CTX(metadata.CreateLease(lease, std::chrono::hours(24)), "load");
  base::ScopeGuard drop_lease([&] { (void)metadata.DeleteLease(lease); });
  // `docker load` also takes a compressed tar (docker save | gzip).
  archive::DecompressingSource tar(in);
  Loader loader(content, metadata, options, lease);
  auto loaded = [&]() -> Result<std::vector<std::string>> {
    TRY_CTX(loader.ReadArchive(tar), "load: read archive");
    return TRY_CTX(loader.Import(), "load");
  }();
  drop_lease.Dismiss();
  (void)metadata.DeleteLease(lease);
  // Members that no image references (the OCI manifest when manifest.json was used, all of
  // them after an error) would wait for garbage collection; remove them now. Blobs that an
  // image or another load's lease holds are not returned here.
  if (auto unused = metadata.UnreferencedBlobs(loader.Touched())) {
    for (const auto& d : *unused) (void)content.Delete(d);
  }
  return loaded;
}

}  // namespace berth::image
