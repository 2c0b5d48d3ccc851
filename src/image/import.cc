// docker import and the --change instruction parser. See import.h.
#include "image/import.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

#include "archive/compression.h"
#include "archive/tar_reader.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "base/time.h"
#include "oci/reference.h"
#include "sys/path.h"

namespace berth::image {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr size_t kBufSize = 256 << 10;

// JSON form of CMD/ENTRYPOINT/VOLUME; nullopt when the text is not a JSON array of strings,
// which a Dockerfile then reads as shell form.
std::optional<std::vector<std::string>> JsonForm(std::string_view text) {
  if (!text.starts_with('[')) return std::nullopt;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Splits at unquoted whitespace, removing quotes and backslash escapes (Dockerfile words).
Result<std::vector<std::string>> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == 0 && std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && quote != '\'' && i + 1 < text.size()) {
      cur += text[++i];
    } else if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (c == quote) {
      quote = 0;
    } else {
      cur += c;
    }
  }
  if (quote != 0) return Fail(Error::InvalidArgument("unmatched quote"));
  if (in_word) words.push_back(std::move(cur));
  return words;
}

// ENV/LABEL arguments: "k=v k2=v2" or the legacy "KEY value with spaces".
Result<std::vector<std::pair<std::string, std::string>>> KeyValues(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t first_end = text.find_first_of(" \t");
  std::string_view first = text.substr(0, first_end);
  if (first.find('=') == std::string_view::npos) {
    if (first_end == std::string_view::npos)
      return Fail(Error::InvalidArgument("expected key=value or \"KEY value\""));
    out.emplace_back(std::string(first), std::string(base::Trim(text.substr(first_end))));
    return out;
  }
  for (auto& w : TRY(Words(text))) {
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return Fail(Error::InvalidArgument(fmt::format("\"{}\": expected key=value", w)));
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

Result<std::vector<std::string>> ExposedPorts(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& spec : base::SplitNonEmpty(std::string(text), ' ')) {
    std::string port = spec, proto = "tcp";
    if (size_t slash = spec.find('/'); slash != std::string::npos) {
      port = spec.substr(0, slash);
      proto = spec.substr(slash + 1);
      std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
      return Fail(Error::InvalidArgument(fmt::format("invalid proto: \"{}\"", proto)));
    size_t dash = port.find('-');
    auto lo = base::ParseUint(port.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : base::ParseUint(port.substr(dash + 1));
    if (!lo || !hi || *lo == 0 || *hi > 65535 || *lo > *hi)
      return Fail(Error::InvalidArgument(fmt::format("invalid port: \"{}\"", spec)));
    for (uint64_t p = *lo; p <= *hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
  }
  return out;
}

void SetKey(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string entry = key + "=" + value;
  for (auto& e : env) {
    if (e.starts_with(key + "=")) {
      e = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

// Copies what it reads into `sink`, so that parsing the tar also stores it.
class TeeSource : public archive::ByteSource {
 public:
  TeeSource(archive::ByteSource& in, archive::ByteSink& sink) : in_(in), sink_(sink) {}
  Result<size_t> Read(void* buf, size_t size) override {
    size_t n = TRY(in_.Read(buf, size));
    if (n > 0) TRY(sink_.Write(buf, n));
    return n;
  }

 private:
  archive::ByteSource& in_;
  archive::ByteSink& sink_;
};

// Forwards into a content writer.
class WriterSink : public archive::ByteSink {
 public:
  explicit WriterSink(ContentWriter& w) : w_(w) {}
  Status Write(const void* data, size_t size) override { return w_.Write(data, size); }

 private:
  ContentWriter& w_;
};

std::string RandomSuffix() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return fmt::format("{}-{}-{}", getpid(), ts.tv_sec, ts.tv_nsec);
}

}  // namespace

Status ApplyChange(std::string_view change, oci::ContainerConfig& config) {
  std::string_view text = base::Trim(change);
  size_t sp = text.find_first_of(" \t");
  std::string keyword(text.substr(0, sp));
  std::transform(keyword.begin(), keyword.end(), keyword.begin(), ::toupper);
  std::string_view rest = sp == std::string_view::npos ? "" : base::Trim(text.substr(sp));
  auto fail = [&](std::string_view why) {
    return Fail(Error::InvalidArgument(fmt::format("change \"{}\": {}", change, why)));
  };
  if (keyword.empty()) return fail("empty instruction");
  if (rest.empty()) return fail(fmt::format("{} requires an argument", keyword));

  if (keyword == "CMD" || keyword == "ENTRYPOINT") {
    std::vector<std::string> args;
    if (auto json = JsonForm(rest)) {
      args = std::move(*json);
    } else {
      args = {"/bin/sh", "-c", std::string(rest)};
    }
    (keyword == "CMD" ? config.cmd : config.entrypoint) = std::move(args);
  } else if (keyword == "ENV" || keyword == "LABEL") {
    auto kvs = KeyValues(rest);
    if (!kvs) return fail(kvs.error().message());
    for (auto& [k, v] : *kvs) {
      if (keyword == "ENV") {
        SetKey(config.env, k, v);
      } else {
        config.labels[k] = v;
      }
    }
  } else if (keyword == "EXPOSE") {
    auto ports = ExposedPorts(rest);
    if (!ports) return fail(ports.error().message());
    for (auto& p : *ports) {
      if (std::find(config.exposed_ports.begin(), config.exposed_ports.end(), p) ==
          config.exposed_ports.end())
        config.exposed_ports.push_back(std::move(p));
    }
  } else if (keyword == "VOLUME") {
    std::vector<std::string> vols;
    if (auto json = JsonForm(rest)) {
      vols = std::move(*json);
    } else {
      vols = base::SplitNonEmpty(std::string(rest), ' ');
    }
    for (auto& v : vols) {
      if (v.empty()) return fail("empty volume path");
      if (std::find(config.volumes.begin(), config.volumes.end(), v) == config.volumes.end())
        config.volumes.push_back(std::move(v));
    }
  } else if (keyword == "WORKDIR") {
    std::string dir(rest);
    if (!dir.starts_with('/')) dir = config.working_dir + "/" + dir;
    config.working_dir = sys::CleanPath(dir);
  } else if (keyword == "USER") {
    config.user = std::string(rest);
  } else if (keyword == "STOPSIGNAL") {
    config.stop_signal = std::string(rest);
  } else if (keyword == "HEALTHCHECK" || keyword == "ONBUILD" || keyword == "SHELL") {
    return fail(fmt::format("{} is not supported", keyword));
  } else {
    return fail(fmt::format("unknown instruction {}", keyword));
  }
  return {};
}

Result<oci::Digest> Import(archive::ByteSource& rootfs_tar, ContentStore& content,
                           MetadataStore& metadata, const ImportOptions& options) {
  std::optional<oci::ImageReference> ref;
  if (!options.reference.empty()) {
    ref = TRY_CTX(oci::ParseReference(options.reference), "import");
    if (ref->digest)
      return Fail(Error::InvalidArgument("import: the reference must be a tag, not a digest"));
  }
  oci::ImageConfig config;
  for (const auto& c : options.changes) TRY_CTX(ApplyChange(c, config.config), "import");
  oci::Platform platform = options.platform.value_or(oci::HostPlatform());
  config.os = platform.os;
  config.architecture = platform.architecture;
  config.variant = platform.variant;
  config.created = options.created.empty() ? base::NowRfc3339Nano() : options.created;

  // One pass: decompress what came, hash it (diff_id), check it is a tar, gzip it into the
  // store (blob digest is computed by the writer).
  std::string lease = "import-" + RandomSuffix();
  TRY_CTX(metadata.CreateLease(lease, std::chrono::hours(24)), "import");
  base::ScopeGuard drop_lease([&] { (void)metadata.DeleteLease(lease); });
  auto writer = TRY_CTX(content.Writer(lease, std::nullopt, -1), "import");
  base::ScopeGuard abort([&] { (void)writer->Abort(); });
  WriterSink blob_sink(*writer);
  oci::Sha256 diff_hash;
  archive::CompressingSink gzip(blob_sink, archive::Compression::kGzip);
  archive::DecompressingSource uncompressed(
      rootfs_tar,
      archive::StreamTaps{.compressed = {}, .uncompressed = [&](const void* d, size_t n) {
                            diff_hash.Update(d, n);
                          }});
  TeeSource tee(uncompressed, gzip);
  archive::TarReader reader(tee);
  while (TRY_CTX(reader.Next(), "import: read rootfs tar")) {
  }
  // The diff_id covers the padding after the end-of-archive marker too.
  std::vector<uint8_t> buf(kBufSize);
  while (TRY_CTX(tee.Read(buf.data(), buf.size()), "import: read rootfs tar") > 0) {
  }
  TRY_CTX(gzip.Close(), "import: compress layer");
  int64_t blob_size = writer->Offset();
  oci::Digest blob = TRY_CTX(writer->Commit(), "import: store layer");
  abort.Dismiss();
  TRY(metadata.AddLeaseBlob(lease, blob));
  oci::Digest diff_id = diff_hash.Finish();

  config.diff_ids = {diff_id};
  config.history.push_back(
      {.created = config.created,
       .created_by = "",
       .author = "",
       .comment = options.message.empty() ? "Imported from -" : options.message,
       .empty_layer = false});
  std::string config_bytes = oci::SerializeImageConfig(config);
  oci::Digest config_digest = oci::Sha256Of(config_bytes);
  TRY(metadata.AddLeaseBlob(lease, config_digest));
  TRY_CTX(content.Put(config_bytes, config_digest), "import: store config");

  oci::Manifest m;
  m.media_type = oci::media::kDockerManifest;
  m.config = {.media_type = oci::media::kDockerConfig,
              .digest = config_digest,
              .size = static_cast<int64_t>(config_bytes.size())};
  m.layers.push_back(
      {.media_type = oci::media::kDockerLayerGzip, .digest = blob, .size = blob_size});
  std::string manifest_bytes = oci::SerializeManifest(m);
  oci::Digest manifest_digest = oci::Sha256Of(manifest_bytes);
  TRY(metadata.AddLeaseBlob(lease, manifest_digest));
  TRY_CTX(content.Put(manifest_bytes, manifest_digest), "import: store manifest");

  ImageRecord rec;
  rec.id = config_digest;
  rec.manifest_digest = manifest_digest;
  rec.target = {.media_type = oci::media::kDockerManifest,
                .digest = manifest_digest,
                .size = static_cast<int64_t>(manifest_bytes.size())};
  rec.created = config.created;
  rec.size = static_cast<int64_t>(uncompressed.uncompressed_bytes());
  rec.platform = {.os = config.os, .architecture = config.architecture, .variant = config.variant};
  rec.layers.push_back({.diff_id = diff_id,
                        .chain_id = diff_id,
                        .blob = blob,
                        .size = blob_size,
                        .media_type = oci::media::kDockerLayerGzip});
  if (ref) rec.names.push_back(ref->String());
  TRY_CTX(metadata.PutImage(rec), "import");
  return config_digest;
}

}  // namespace berth::image
