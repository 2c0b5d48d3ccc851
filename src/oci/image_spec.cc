// OCI image-spec / Docker schema2 JSON <-> the value types of image_spec.h, media type
// classification, host platform detection and platform matching, chain IDs.
#include "oci/image_spec.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/strings.h"
#include "oci/json_fields.h"

namespace berth::oci {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;
using base::Error;
using base::Fail;
using base::Result;
using base::Status;

// ---------------------------------------------------------------------------------------------
// Reading

using internal::Element;
using internal::FieldError;
using internal::Member;
using internal::ParseObject;

// Absent and null are the same (Docker writes "Cmd": null); returns nullptr for both.
const Json* Find(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status GetString(const Json& obj, const std::string& path, const char* key, std::string* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return {};
  if (!v->is_string()) return Fail(FieldError(Member(path, key), "expected string"));
  *out = v->get_ref<const std::string&>();
  return {};
}

Status GetBool(const Json& obj, const std::string& path, const char* key, bool* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return {};
  if (!v->is_boolean()) return Fail(FieldError(Member(path, key), "expected boolean"));
  *out = v->get<bool>();
  return {};
}

Status DecodeStrings(const Json& v, const std::string& path, std::vector<std::string>* out) {
  if (!v.is_array()) return Fail(FieldError(path, "expected array"));
  out->clear();
  out->reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return Fail(FieldError(Element(path, i), "expected string"));
    out->push_back(v[i].get<std::string>());
  }
  return {};
}

Status GetStrings(const Json& obj, const std::string& path, const char* key,
                  std::vector<std::string>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return {};
  return DecodeStrings(*v, Member(path, key), out);
}

// Go's map[string]struct{} (ExposedPorts, Volumes): only the keys carry meaning.
Status GetKeys(const Json& obj, const std::string& path, const char* key,
               std::vector<std::string>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return {};
  if (!v->is_object()) return Fail(FieldError(Member(path, key), "expected object"));
  out->clear();
  for (const auto& item : v->items()) out->push_back(item.key());
  return {};
}

Status GetStringMap(const Json& obj, const std::string& path, const char* key,
                    std::map<std::string, std::string>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return {};
  std::string p = Member(path, key);
  if (!v->is_object()) return Fail(FieldError(p, "expected object"));
  out->clear();
  for (const auto& item : v->items()) {
    if (item.value().is_null()) continue;
    if (!item.value().is_string()) {
      return Fail(FieldError(fmt::format("{}[\"{}\"]", p, item.key()), "expected string"));
    }
    (*out)[item.key()] = item.value().get<std::string>();
  }
  return {};
}

Status DecodeDigest(const Json& v, const std::string& path, Digest* out) {
  if (!v.is_string()) return Fail(FieldError(path, "expected string"));
  auto d = Digest::Parse(v.get_ref<const std::string&>());
  if (!d) return Fail(FieldError(path, d.error().message()));
  *out = std::move(*d);
  return {};
}

// A required member: absent or null is an error naming the field.
Result<const Json*> Require(const Json& obj, const std::string& path, const char* key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return Fail(FieldError(Member(path, key), "required"));
  return v;
}

Status DecodeSchemaVersion(const Json& obj, const std::string& path, int* out) {
  const Json* v = TRY(Require(obj, path, "schemaVersion"));
  if (!v->is_number_integer()) {
    return Fail(FieldError(Member(path, "schemaVersion"), "expected integer"));
  }
  if (v->get<int64_t>() != 2) {
    return Fail(FieldError(Member(path, "schemaVersion"),
                           fmt::format("unsupported schema version {}", v->get<int64_t>())));
  }
  *out = 2;
  return {};
}

Status DecodePlatform(const Json& j, const std::string& path, Platform* out) {
  if (!j.is_object()) return Fail(FieldError(path, "expected object"));
  TRY(Require(j, path, "architecture"));
  TRY(Require(j, path, "os"));
  TRY(GetString(j, path, "architecture", &out->architecture));
  TRY(GetString(j, path, "os", &out->os));
  TRY(GetString(j, path, "os.version", &out->os_version));
  TRY(GetStrings(j, path, "os.features", &out->os_features));
  TRY(GetString(j, path, "variant", &out->variant));
  return {};
}

Status DecodeDescriptor(const Json& j, const std::string& path, Descriptor* out) {
  if (!j.is_object())
    return Fail(FieldError(path.empty() ? "descriptor" : path, "expected object"));
  TRY(GetString(j, path, "mediaType", &out->media_type));
  TRY(DecodeDigest(*TRY(Require(j, path, "digest")), Member(path, "digest"), &out->digest));
  const Json* size = TRY(Require(j, path, "size"));
  // Doubles ("1.5", "1e3") are rejected like Go's int64 decoding does.
  if (size->is_number_unsigned()) {
    uint64_t v = size->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) {
      return Fail(FieldError(Member(path, "size"), "out of range"));
    }
    out->size = static_cast<int64_t>(v);
  } else if (size->is_number_integer()) {
    // nlohmann stores "-0" as a signed zero.
    if (size->get<int64_t>() < 0) {
      return Fail(FieldError(Member(path, "size"), "must not be negative"));
    }
    out->size = 0;
  } else {
    return Fail(FieldError(Member(path, "size"), "expected integer"));
  }
  TRY(GetStrings(j, path, "urls", &out->urls));
  TRY(GetStringMap(j, path, "annotations", &out->annotations));
  if (const Json* p = Find(j, "platform")) {
    Platform platform;
    TRY(DecodePlatform(*p, Member(path, "platform"), &platform));
    out->platform = std::move(platform);
  }
  return {};
}

Status DecodeDescriptors(const Json& obj, const char* key, std::vector<Descriptor>* out) {
  const Json* v = TRY(Require(obj, "", key));
  if (!v->is_array()) return Fail(FieldError(key, "expected array"));
  out->clear();
  out->reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    Descriptor d;
    TRY(DecodeDescriptor((*v)[i], Element(key, i), &d));
    out->push_back(std::move(d));
  }
  return {};
}

Status DecodeContainerConfig(const Json& j, const std::string& p, ContainerConfig* out) {
  if (!j.is_object()) return Fail(FieldError(p, "expected object"));
  TRY(GetString(j, p, "User", &out->user));
  TRY(GetKeys(j, p, "ExposedPorts", &out->exposed_ports));
  TRY(GetStrings(j, p, "Env", &out->env));
  TRY(GetStrings(j, p, "Entrypoint", &out->entrypoint));
  TRY(GetStrings(j, p, "Cmd", &out->cmd));
  TRY(GetKeys(j, p, "Volumes", &out->volumes));
  TRY(GetString(j, p, "WorkingDir", &out->working_dir));
  TRY(GetStringMap(j, p, "Labels", &out->labels));
  TRY(GetString(j, p, "StopSignal", &out->stop_signal));
  if (const Json* hc = Find(j, "Healthcheck")) {
    std::string hp = Member(p, "Healthcheck");
    if (!hc->is_object()) return Fail(FieldError(hp, "expected object"));
    if (const Json* test = Find(*hc, "Test")) {
      std::vector<std::string> v;
      TRY(DecodeStrings(*test, Member(hp, "Test"), &v));
      out->healthcheck_test = std::move(v);
    }
  }
  return {};
}

Status DecodeHistory(const Json& j, const std::string& p, HistoryEntry* out) {
  if (!j.is_object()) return Fail(FieldError(p, "expected object"));
  TRY(GetString(j, p, "created", &out->created));
  TRY(GetString(j, p, "created_by", &out->created_by));
  TRY(GetString(j, p, "author", &out->author));
  TRY(GetString(j, p, "comment", &out->comment));
  TRY(GetBool(j, p, "empty_layer", &out->empty_layer));
  return {};
}

Status CheckMediaType(const std::string& media_type, bool (*accepts)(std::string_view),
                      std::string_view kind) {
  if (media_type.empty() || accepts(media_type)) return {};
  return Fail(
      FieldError("mediaType", fmt::format("\"{}\" is not {} media type", media_type, kind)));
}

// ---------------------------------------------------------------------------------------------
// Writing

std::string Dump(const OJson& j) {
  // replace: strings built by callers (not parsed) may hold invalid UTF-8; never throw.
  return j.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

OJson EncodePlatform(const Platform& p) {
  OJson o = OJson::object();
  o["architecture"] = p.architecture;
  o["os"] = p.os;
  if (!p.os_version.empty()) o["os.version"] = p.os_version;
  if (!p.os_features.empty()) o["os.features"] = p.os_features;
  if (!p.variant.empty()) o["variant"] = p.variant;
  return o;
}

OJson EncodeStringMap(const std::map<std::string, std::string>& m) {
  OJson o = OJson::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

OJson EncodeDescriptor(const Descriptor& d) {
  OJson o = OJson::object();
  if (!d.media_type.empty()) o["mediaType"] = d.media_type;
  o["digest"] = d.digest.ToString();
  o["size"] = d.size;
  if (!d.urls.empty()) o["urls"] = d.urls;
  if (!d.annotations.empty()) o["annotations"] = EncodeStringMap(d.annotations);
  if (d.platform) o["platform"] = EncodePlatform(*d.platform);
  return o;
}

OJson EncodeKeys(const std::vector<std::string>& keys) {
  OJson o = OJson::object();
  for (const auto& k : keys) o[k] = OJson::object();
  return o;
}

OJson EncodeContainerConfig(const ContainerConfig& c) {
  OJson o = OJson::object();
  if (!c.user.empty()) o["User"] = c.user;
  if (!c.exposed_ports.empty()) o["ExposedPorts"] = EncodeKeys(c.exposed_ports);
  if (!c.env.empty()) o["Env"] = c.env;
  if (!c.entrypoint.empty()) o["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) o["Cmd"] = c.cmd;
  if (!c.volumes.empty()) o["Volumes"] = EncodeKeys(c.volumes);
  if (!c.working_dir.empty()) o["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) o["Labels"] = EncodeStringMap(c.labels);
  if (!c.stop_signal.empty()) o["StopSignal"] = c.stop_signal;
  if (c.healthcheck_test) o["Healthcheck"] = OJson{{"Test", *c.healthcheck_test}};
  return o;
}

// ---------------------------------------------------------------------------------------------
// Platforms

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// containerd's normalizeArch: aliases to GOARCH names and the variant spellings of each.
void NormalizeArch(std::string* arch, std::string* variant) {
  *arch = Lower(*arch);
  *variant = Lower(*variant);
  if (*arch == "i386" || *arch == "i686") {
    *arch = "386";
    variant->clear();
  } else if (*arch == "x86_64" || *arch == "x86-64" || *arch == "amd64") {
    *arch = "amd64";
    if (*variant == "v1") variant->clear();
  } else if (*arch == "aarch64" || *arch == "arm64") {
    *arch = "arm64";
    if (*variant == "8" || *variant == "v8.0") *variant = "v8";
  } else if (*arch == "armhf") {
    *arch = "arm";
    *variant = "v7";
  } else if (*arch == "armel") {
    *arch = "arm";
    *variant = "v6";
  } else if (*arch == "arm") {
    if (*variant == "5" || *variant == "6" || *variant == "7" || *variant == "8") {
      variant->insert(0, "v");
    }
  }
}

std::string NormalizeOs(std::string_view os) {
  std::string o = Lower(os);
  if (o == "macos") return "darwin";
  return o;
}

// The variant a platform means when it names none.
std::string EffectiveVariant(const std::string& arch, const std::string& variant) {
  if (!variant.empty()) return variant;
  if (arch == "arm64") return "v8";
  if (arch == "arm") return "v7";
  return variant;
}

bool IsKnownOs(std::string_view os) {
  static constexpr std::string_view kOses[] = {
      "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
      "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos", "wasip1"};
  for (auto o : kOses) {
    if (o == os) return true;
  }
  return false;
}

bool IsKnownArch(std::string_view arch) {
  static constexpr std::string_view kArches[] = {
      "386",     "amd64",  "amd64p32", "arm",      "armbe",   "arm64", "arm64be", "loong64",
      "mips",    "mipsle", "mips64",   "mips64le", "ppc",     "ppc64", "ppc64le", "riscv",
      "riscv64", "s390",   "s390x",    "sparc",    "sparc64", "wasm"};
  for (auto a : kArches) {
    if (a == arch) return true;
  }
  return false;
}

std::string PlatformString(const Platform& p) {
  std::string out = p.os + "/" + p.architecture;
  if (!p.variant.empty()) out += "/" + p.variant;
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Media types

Result<Compression> LayerCompression(std::string_view media_type) {
  // Registries and tools append parameters ("; charset=..."), never to the layer type proper.
  std::string_view t = media_type.substr(0, media_type.find(';'));
  t = base::Trim(t);
  if (t == media::kOciLayer || t == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
      t == "application/vnd.docker.image.rootfs.diff.tar" ||
      t == "application/vnd.docker.image.rootfs.foreign.diff.tar") {
    return Compression::kNone;
  }
  if (t == media::kOciLayerGzip ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      t == media::kDockerLayerGzip || t == media::kDockerLayerForeignGzip) {
    return Compression::kGzip;
  }
  if (t == media::kOciLayerZstd ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" ||
      t == "application/vnd.docker.image.rootfs.diff.tar.zstd") {
    return Compression::kZstd;
  }
  return Fail(Error::InvalidArgument(fmt::format("not a layer media type: \"{}\"", media_type)));
}

bool IsIndexMediaType(std::string_view media_type) {
  return media_type == media::kOciIndex || media_type == media::kDockerManifestList;
}

bool IsManifestMediaType(std::string_view media_type) {
  return media_type == media::kOciManifest || media_type == media::kDockerManifest;
}

// ---------------------------------------------------------------------------------------------
// Platforms

Platform PlatformForMachine(std::string_view machine) {
  Platform p;
  p.os = "linux";
  if (machine == "x86_64" || machine == "amd64") {
    p.architecture = "amd64";
  } else if (machine == "aarch64" || machine == "arm64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (machine == "aarch64_be") {
    p.architecture = "arm64be";
    p.variant = "v8";
  } else if (machine.size() >= 5 && machine.substr(0, 4) == "armv" && machine[4] >= '5' &&
             machine[4] <= '8') {
    // armv8l: a 32-bit process (linux32 personality) on an ARMv8 CPU, which containerd
    // reports as arm/v8.
    p.architecture = "arm";
    p.variant = std::string("v") + machine[4];
  } else if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686") {
    p.architecture = "386";
  } else if (machine == "loongarch64") {
    p.architecture = "loong64";
  } else {
    // ppc64le, s390x, riscv64, mips64 ... are already GOARCH names.
    p.architecture = std::string(machine);
  }
  return p;
}

Platform HostPlatform() {
  struct utsname u;
  if (uname(&u) == 0) return PlatformForMachine(u.machine);
#if defined(__x86_64__)
  return PlatformForMachine("x86_64");
#elif defined(__aarch64__)
  return PlatformForMachine("aarch64");
#elif defined(__arm__)
  return PlatformForMachine("armv7l");
#elif defined(__i386__)
  return PlatformForMachine("i686");
#else
  return PlatformForMachine("unknown");
#endif
}

Result<Platform> ParsePlatform(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return Fail(Error::InvalidArgument(fmt::format("invalid platform \"{}\": {}", text, why)));
  };
  std::vector<std::string> parts = base::Split(text, '/');
  if (parts.empty() || parts.size() > 3) return invalid("expected os[/arch[/variant]]");
  for (const auto& part : parts) {
    if (part.empty()) return invalid("empty component");
    for (char c : part) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-' || c == '.')) {
        return invalid("unexpected character");
      }
    }
  }
  Platform p;
  if (parts.size() == 1) {
    // containerd accepts a lone os (host architecture) or a lone architecture (linux).
    std::string os = NormalizeOs(parts[0]);
    if (IsKnownOs(os)) {
      Platform host = HostPlatform();
      p.os = os;
      p.architecture = host.architecture;
      p.variant = host.variant;
      return p;
    }
    std::string arch = parts[0], variant;
    NormalizeArch(&arch, &variant);
    if (!IsKnownArch(arch)) return invalid("unknown operating system or architecture");
    p.os = "linux";
    p.architecture = arch;
    p.variant = variant;
    return p;
  }
  p.os = NormalizeOs(parts[0]);
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  NormalizeArch(&p.architecture, &p.variant);
  return p;
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  if (NormalizeOs(want.os) != NormalizeOs(have.os)) return false;
  std::string want_arch = want.architecture, want_variant = want.variant;
  std::string have_arch = have.architecture, have_variant = have.variant;
  NormalizeArch(&want_arch, &want_variant);
  NormalizeArch(&have_arch, &have_variant);
  if (want_arch != have_arch) return false;
  return EffectiveVariant(want_arch, want_variant) == EffectiveVariant(have_arch, have_variant);
}

Result<Descriptor> SelectPlatform(const Index& index, const Platform& want) {
  const Descriptor* fallback = nullptr;
  for (const auto& d : index.manifests) {
    if (!d.platform || !PlatformMatches(want, *d.platform)) continue;
    // An entry that spells the variant as asked beats an earlier one that only means it
    // ("arm64" vs "arm64/v8" in the same list).
    if (d.platform->variant == want.variant) return d;
    if (fallback == nullptr) fallback = &d;
  }
  if (fallback != nullptr) return *fallback;
  return Fail(Error::NotFound(fmt::format(
      "no matching manifest for {} in the manifest list entries", PlatformString(want))));
}

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const auto& diff : diff_ids) {
    if (out.empty()) {
      out.push_back(diff);
    } else {
      out.push_back(Sha256Of(out.back().ToString() + " " + diff.ToString()));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Documents

Result<Descriptor> ParseDescriptor(std::string_view json_text) {
  Json j = TRY(ParseObject(json_text, "descriptor"));
  Descriptor d;
  TRY(DecodeDescriptor(j, "", &d));
  return d;
}

Result<Manifest> ParseManifest(std::string_view json_text) {
  Json j = TRY(ParseObject(json_text, "manifest"));
  Manifest m;
  TRY(DecodeSchemaVersion(j, "", &m.schema_version));
  TRY(GetString(j, "", "mediaType", &m.media_type));
  TRY(CheckMediaType(m.media_type, IsManifestMediaType, "a manifest"));
  TRY(DecodeDescriptor(*TRY(Require(j, "", "config")), "config", &m.config));
  TRY(DecodeDescriptors(j, "layers", &m.layers));
  TRY(GetStringMap(j, "", "annotations", &m.annotations));
  return m;
}

Result<Index> ParseIndex(std::string_view json_text) {
  Json j = TRY(ParseObject(json_text, "index"));
  Index i;
  TRY(DecodeSchemaVersion(j, "", &i.schema_version));
  TRY(GetString(j, "", "mediaType", &i.media_type));
  TRY(CheckMediaType(i.media_type, IsIndexMediaType, "an index"));
  TRY(DecodeDescriptors(j, "manifests", &i.manifests));
  TRY(GetStringMap(j, "", "annotations", &i.annotations));
  return i;
}

Result<ImageConfig> ParseImageConfig(std::string_view json_text) {
  Json j = TRY(ParseObject(json_text, "image config"));
  ImageConfig c;
  TRY(GetString(j, "", "created", &c.created));
  TRY(GetString(j, "", "author", &c.author));
  TRY(GetString(j, "", "architecture", &c.architecture));
  TRY(GetString(j, "", "os", &c.os));
  TRY(GetString(j, "", "variant", &c.variant));
  if (const Json* config = Find(j, "config")) {
    TRY(DecodeContainerConfig(*config, "config", &c.config));
  }
  // Docker refuses configs without rootfs too (image.NewFromJSON).
  const Json* rootfs = TRY(Require(j, "", "rootfs"));
  if (!rootfs->is_object()) return Fail(FieldError("rootfs", "expected object"));
  std::string type;
  TRY(GetString(*rootfs, "rootfs", "type", &type));
  if (type != "layers") {
    return Fail(FieldError("rootfs.type", fmt::format("expected \"layers\", got \"{}\"", type)));
  }
  if (const Json* ids = Find(*rootfs, "diff_ids")) {
    if (!ids->is_array()) return Fail(FieldError("rootfs.diff_ids", "expected array"));
    for (size_t i = 0; i < ids->size(); ++i) {
      Digest d;
      TRY(DecodeDigest((*ids)[i], Element("rootfs.diff_ids", i), &d));
      c.diff_ids.push_back(std::move(d));
    }
  }
  if (const Json* history = Find(j, "history")) {
    if (!history->is_array()) return Fail(FieldError("history", "expected array"));
    for (size_t i = 0; i < history->size(); ++i) {
      HistoryEntry h;
      TRY(DecodeHistory((*history)[i], Element("history", i), &h));
      c.history.push_back(std::move(h));
    }
  }
  return c;
}

Result<std::string> DetectManifestMediaType(std::string_view json_text) {
  Json j = TRY(ParseObject(json_text, "manifest"));
  std::string media_type;
  TRY(GetString(j, "", "mediaType", &media_type));
  if (!media_type.empty()) return media_type;
  if (Find(j, "manifests") != nullptr) return std::string(media::kOciIndex);
  if (Find(j, "layers") != nullptr || Find(j, "config") != nullptr) {
    return std::string(media::kOciManifest);
  }
  return std::string();
}

std::string SerializeDescriptor(const Descriptor& d) { return Dump(EncodeDescriptor(d)); }

std::string SerializeManifest(const Manifest& m) {
  OJson o = OJson::object();
  o["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) o["mediaType"] = m.media_type;
  o["config"] = EncodeDescriptor(m.config);
  OJson layers = OJson::array();
  for (const auto& l : m.layers) layers.push_back(EncodeDescriptor(l));
  o["layers"] = std::move(layers);
  if (!m.annotations.empty()) o["annotations"] = EncodeStringMap(m.annotations);
  return Dump(o);
}

std::string SerializeIndex(const Index& i) {
  OJson o = OJson::object();
  o["schemaVersion"] = i.schema_version;
  if (!i.media_type.empty()) o["mediaType"] = i.media_type;
  OJson manifests = OJson::array();
  for (const auto& d : i.manifests) manifests.push_back(EncodeDescriptor(d));
  o["manifests"] = std::move(manifests);
  if (!i.annotations.empty()) o["annotations"] = EncodeStringMap(i.annotations);
  return Dump(o);
}

std::string SerializeImageConfig(const ImageConfig& c) {
  OJson o = OJson::object();
  if (!c.created.empty()) o["created"] = c.created;
  if (!c.author.empty()) o["author"] = c.author;
  o["architecture"] = c.architecture;
  o["os"] = c.os;
  if (!c.variant.empty()) o["variant"] = c.variant;
  OJson config = EncodeContainerConfig(c.config);
  if (!config.empty()) o["config"] = std::move(config);
  OJson diff_ids = OJson::array();
  for (const auto& d : c.diff_ids) diff_ids.push_back(d.ToString());
  o["rootfs"] = OJson{{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  if (!c.history.empty()) {
    OJson history = OJson::array();
    for (const auto& h : c.history) {
      OJson e = OJson::object();
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.author.empty()) e["author"] = h.author;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      history.push_back(std::move(e));
    }
    o["history"] = std::move(history);
  }
  return Dump(o);
}

}  // namespace berth::oci
