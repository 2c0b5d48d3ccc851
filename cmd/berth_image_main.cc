// berth-image: a temporary command to exercise the image subsystem by hand (pull, push, ls, rm,
// tag, inspect, history, prune, gc, mount) until the daemon and CLI exist. It is also the wiring
// layer's first user: image::Fetcher and image::PushTarget over registry::Client.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "archive/stream.h"
#include "base/strings.h"
#include "cli/format.h"
#include "daemon/image_stores.h"
#include "daemon/registry_fetcher.h"
#include "image/content/content_store.h"
#include "image/image_service.h"
#include "image/import.h"
#include "image/metadata.h"
#include "image/pull.h"
#include "image/push.h"
#include "image/save_load.h"
#include "image/snapshot/snapshotter.h"
#include "image/unpack.h"
#include "oci/reference.h"
#include "registry/credentials.h"
#include "registry/hosts.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::cmd {
namespace {

using Stores = daemon::ImageStores;

int Report(const base::Error& e) {
  fmt::print(stderr, "Error: {}\n", e.message());
  return 1;
}

using cli::Ago;
using cli::HumanSize;

int Pull(Stores& s, const std::string& text, const std::string& platform_text,
         const registry::RegistryHosts& hosts) {
  auto ref = oci::ParseReference(text);
  if (!ref) return Report(ref.error());
  image::PullOptions options;
  if (!platform_text.empty()) {
    auto p = oci::ParsePlatform(platform_text);
    if (!p) return Report(p.error());
    options.platform = *p;
  }
  // Plain (non-terminal) progress like Docker's: status changes only, no byte counts.
  options.progress = [](const image::PullProgress& p) {
    if (p.status == "Downloading" || p.status == "Extracting") return;
    fmt::print(stderr, "{}: {}\n", p.id, p.status);
  };
  registry::DockerConfigCredentials creds(
      {registry::DockerConfigCredentials::DefaultDockerConfigPath()});
  registry::ClientOptions copts;
  copts.hosts = &hosts;
  copts.credentials = &creds;
  daemon::RegistryFetcher fetcher(copts);
  image::Puller puller(s.content.get(), s.meta.get(), s.snapshots.get(), &fetcher);
  std::string path = ref->path;
  if (ref->domain == oci::kDefaultDomain && base::StartsWith(path, "library/"))
    path = path.substr(8);
  fmt::print(stderr, "{}: Pulling from {}\n", ref->digest ? ref->digest->ToString() : ref->tag,
             path);
  auto r = puller.Pull(*ref, options);
  if (!r) return Report(r.error());
  oci::ImageReference shown = *ref;
  if (shown.digest) shown.tag.clear();
  fmt::print(stderr, "Digest: {}\n", r->digest.ToString());
  fmt::print(stderr, "Status: {} for {}\n",
             r->updated ? "Downloaded newer image" : "Image is up to date", shown.FamiliarString());
  fmt::print("{}\n", shown.String());
  return 0;
}

int Push(Stores& s, const std::string& text, const registry::RegistryHosts& hosts) {
  auto ref = oci::ParseReference(text);
  if (!ref) return Report(ref.error());
  image::PushOptions options;
  options.progress = [](const image::PushProgress& p) {
    if (p.status != "Pushing") fmt::print(stderr, "{}: {}\n", p.id, p.status);
  };
  registry::DockerConfigCredentials creds(
      {registry::DockerConfigCredentials::DefaultDockerConfigPath()});
  registry::ClientOptions copts;
  copts.hosts = &hosts;
  copts.credentials = &creds;
  daemon::RegistryPusher target(copts);
  image::Pusher pusher(s.content.get(), s.meta.get(), &target);
  fmt::print(stderr, "The push refers to repository [{}]\n", ref->Name());
  auto r = pusher.Push(*ref, options);
  if (!r) return Report(r.error());
  fmt::print("{}: digest: {} size: {}\n", r->tag, r->digest.ToString(), r->size);
  return 0;
}

int List(Stores& s, bool quiet) {
  auto images = s.service->List();
  if (!images) return Report(images.error());
  if (quiet) {
    std::set<std::string> seen;
    for (const auto& i : *images)
      if (seen.insert(i.id).second) fmt::print("{}\n", i.id.substr(7, 12));
    return 0;
  }
  fmt::print("{:<40} {:<16} {:<14} {:<16} {}\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
             "SIZE");
  for (const auto& i : *images) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& t : i.repo_tags) {
      auto colon = t.rfind(':');
      rows.emplace_back(t.substr(0, colon), t.substr(colon + 1));
    }
    if (rows.empty()) {
      for (const auto& d : i.repo_digests) rows.emplace_back(d.substr(0, d.find('@')), "<none>");
      if (rows.size() > 1) rows.resize(1);
    }
    if (rows.empty()) rows.emplace_back("<none>", "<none>");
    for (const auto& [repo, tag] : rows)
      fmt::print("{:<40} {:<16} {:<14} {:<16} {}\n", repo, tag, i.id.substr(7, 12), Ago(i.created),
                 HumanSize(i.size));
  }
  return 0;
}

int Inspect(Stores& s, const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  int rc = 0;
  for (const auto& n : names) {
    auto i = s.service->Inspect(n);
    if (!i) {
      rc = Report(i.error());
      continue;
    }
    out.push_back(image::ToJson(*i));
  }
  fmt::print("{}\n", out.dump(4));
  return rc;
}

int History(Stores& s, const std::string& name) {
  auto h = s.service->History(name);
  if (!h) return Report(h.error());
  fmt::print("{:<14} {:<16} {:<46} {:<10} {}\n", "IMAGE", "CREATED", "CREATED BY", "SIZE",
             "COMMENT");
  for (const auto& e : *h) {
    std::string id = e.id == "<missing>" ? e.id : e.id.substr(7, 12);
    std::string by = e.created_by;
    if (by.size() > 45) by = by.substr(0, 44) + "…";
    fmt::print("{:<14} {:<16} {:<46} {:<10} {}\n", id, Ago(e.created), by, HumanSize(e.size),
               e.comment);
  }
  return 0;
}

int Remove(Stores& s, const std::vector<std::string>& names, bool force) {
  int rc = 0;
  for (const auto& n : names) {
    auto items = s.service->Remove(n, force);
    if (!items) {
      rc = Report(items.error());
      continue;
    }
    for (const auto& i : *items) {
      if (!i.untagged.empty())
        fmt::print("Untagged: {}\n", i.untagged);
      else
        fmt::print("Deleted: {}\n", i.deleted);
    }
  }
  return rc;
}

int Mount(Stores& s, const std::string& name, const std::string& dir) {
  auto rec = s.service->Resolve(name);
  if (!rec) return Report(rec.error());
  if (rec->layers.empty()) return Report(base::Error::InvalidArgument("image has no layers"));
  auto mounts = s.snapshots->View(rec->layers.back().chain_id);
  if (!mounts) return Report(mounts.error());
  for (const auto& m : *mounts) {
    if (m.type == "bind") {
      auto st = sys::Mount(m.source, dir, "", MS_BIND | MS_REC, "");
      if (st) st = sys::Mount("", dir, "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
      if (!st) return Report(st.error());
    } else {
      auto st = sys::Mount(m.source, dir, m.type, MS_RDONLY, base::Join(m.options, ","));
      if (!st) return Report(st.error());
    }
  }
  fmt::print("{}\n", dir);
  return 0;
}

}  // namespace

using daemon::UnpackImage;

int Save(Stores& s, const std::vector<std::string>& refs, const std::string& output) {
  int fd = 1;
  sys::UniqueFd file;
  if (!output.empty()) {
    auto f = sys::Open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!f) return Report(f.error());
    file = std::move(*f);
    fd = file.get();
  } else if (::isatty(1)) {
    return Report(base::Error::InvalidArgument(
        "cowardly refusing to save to a terminal. Use the -o flag or redirect"));
  }
  archive::FdSink sink(fd);
  auto st = image::Save(refs, *s.content, *s.meta, sink);
  return st ? 0 : Report(st.error());
}

int Load(Stores& s, const std::string& input, bool quiet) {
  sys::UniqueFd file;
  int fd = 0;
  if (!input.empty()) {
    auto f = sys::Open(input, O_RDONLY);
    if (!f) return Report(f.error());
    file = std::move(*f);
    fd = file.get();
  }
  archive::FdSource source(fd);
  image::LoadOptions opts;
  opts.unpack = [&](const image::ImageRecord& rec) { return UnpackImage(s, rec); };
  auto names = image::Load(source, *s.content, *s.meta, opts);
  if (!names) return Report(names.error());
  for (const auto& n : *names) {
    if (quiet) continue;
    if (base::StartsWith(n, "sha256:"))
      fmt::print("Loaded image ID: {}\n", n);
    else
      fmt::print("Loaded image: {}\n", n);
  }
  return 0;
}

int Import(Stores& s, const std::string& input, const std::string& ref,
           const std::vector<std::string>& changes, const std::string& message) {
  sys::UniqueFd file;
  int fd = 0;
  if (input != "-") {
    auto f = sys::Open(input, O_RDONLY);
    if (!f) return Report(f.error());
    file = std::move(*f);
    fd = file.get();
  }
  archive::FdSource source(fd);
  image::ImportOptions opts;
  opts.reference = ref;
  opts.changes = changes;
  opts.message = message;
  auto id = image::Import(source, *s.content, *s.meta, opts);
  if (!id) return Report(id.error());
  auto rec = s.meta->GetImage(*id);
  if (!rec) return Report(rec.error());
  if (auto st = UnpackImage(s, *rec); !st) return Report(st.error());
  fmt::print("{}\n", id->ToString());
  return 0;
}

int ImageMain(int argc, char** argv) {
  CLI::App app{"berth-image: pull and manage images (temporary tool for the image subsystem)"};
  app.require_subcommand(1);
  std::string root = "/var/lib/berth";
  std::vector<std::string> insecure, mirrors;
  app.add_option("--root", root, "berth state directory");
  app.add_option("--insecure-registry", insecure, "registry spoken to over plain HTTP")
      ->allow_extra_args(false);
  app.add_option("--registry-mirror", mirrors, "mirror of docker.io, tried first")
      ->allow_extra_args(false);

  std::string ref, platform, src, dst, dir;
  std::vector<std::string> refs;
  bool force = false, quiet = false;
  auto* pull = app.add_subcommand("pull", "pull an image from a registry");
  pull->add_option("--platform", platform, "os/arch[/variant]");
  pull->add_option("REF", ref)->required();
  auto* push = app.add_subcommand("push", "push an image to a registry");
  push->add_option("REF", ref)->required();
  auto* ls = app.add_subcommand("ls", "list images");
  ls->add_flag("-q,--quiet", quiet, "only IDs");
  auto* inspect = app.add_subcommand("inspect", "show images as JSON");
  inspect->add_option("REF", refs)->required();
  auto* history = app.add_subcommand("history", "show an image's history");
  history->add_option("REF", ref)->required();
  auto* tag = app.add_subcommand("tag", "tag an image");
  tag->add_option("SOURCE", src)->required();
  tag->add_option("TARGET", dst)->required();
  auto* rm = app.add_subcommand("rm", "remove images");
  rm->add_flag("-f,--force", force, "remove even when referenced several times");
  rm->add_option("REF", refs)->required();
  auto* prune = app.add_subcommand("prune", "remove dangling images");
  auto* gc = app.add_subcommand("gc", "remove unreferenced blobs and snapshots");
  auto* mount = app.add_subcommand("mount", "mount a read-only view of an image");
  mount->add_option("REF", ref)->required();
  mount->add_option("DIR", dir)->required();
  std::string file, message;
  std::vector<std::string> changes;
  auto* save = app.add_subcommand("save", "write images as a docker save tar");
  save->add_option("-o,--output", file, "file to write (default: stdout)");
  save->add_option("REF", refs)->required();
  auto* load = app.add_subcommand("load", "read images from a docker save or OCI layout tar");
  load->add_option("-i,--input", file, "file to read (default: stdin)");
  load->add_flag("-q,--quiet", quiet);
  auto* import = app.add_subcommand("import", "make a one-layer image from a rootfs tarball");
  import->add_option("-c,--change", changes, "Dockerfile instruction for the config")
      ->allow_extra_args(false);
  import->add_option("-m,--message", message, "history comment");
  import->add_option("FILE", file, "tarball, or - for stdin")->required();
  import->add_option("REF", ref, "name for the image");
  auto* umount = app.add_subcommand("umount", "unmount a view");
  umount->add_option("DIR", dir)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (umount->parsed()) {
    auto st = sys::Umount(dir, 0);
    return st ? 0 : Report(st.error());
  }
  auto stores = daemon::OpenImageStores(root);
  if (!stores) return Report(stores.error());
  Stores& s = *stores;

  if (pull->parsed() || push->parsed()) {
    registry::RegistryHosts::Options hopts;
    hopts.insecure_registries = insecure;
    hopts.registry_mirrors = mirrors;
    hopts.certs_dir = "/etc/berth/certs.d";
    registry::RegistryHosts hosts(hopts);
    return pull->parsed() ? Pull(s, ref, platform, hosts) : Push(s, ref, hosts);
  }
  if (ls->parsed()) return List(s, quiet);
  if (inspect->parsed()) return Inspect(s, refs);
  if (history->parsed()) return History(s, ref);
  if (tag->parsed()) {
    auto st = s.service->Tag(src, dst);
    return st ? 0 : Report(st.error());
  }
  if (rm->parsed()) return Remove(s, refs, force);
  if (prune->parsed()) {
    auto r = s.service->PruneDangling();
    if (!r) return Report(r.error());
    if (!r->deleted.empty()) fmt::print("Deleted Images:\n");
    for (const auto& d : r->deleted) fmt::print("deleted: {}\n", d.deleted);
    fmt::print("\nTotal reclaimed space: {}\n", HumanSize(r->space_reclaimed));
    return 0;
  }
  if (gc->parsed()) {
    auto r = s.service->CollectGarbage();
    if (!r) return Report(r.error());
    fmt::print("removed {} blobs, {} snapshots, {}{}\n", r->blobs.size(), r->snapshots.size(),
               HumanSize(r->bytes),
               r->snapshots_skipped ? " (snapshots skipped: a pull is in progress)" : "");
    return 0;
  }
  if (mount->parsed()) return Mount(s, ref, dir);
  if (save->parsed()) return Save(s, refs, file);
  if (load->parsed()) return Load(s, file, quiet);
  if (import->parsed()) return Import(s, file, ref, changes, message);
  return 1;
}

}  // namespace berth::cmd

int main(int argc, char** argv) { return berth::cmd::ImageMain(argc, argv); }
