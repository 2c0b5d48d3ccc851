// Overlay snapshotter: see snapshotter.h.
#include "image/snapshot/snapshotter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <system_error>

#include "archive/whiteout.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "sys/file.h"
#include "sys/lock.h"
#include "sys/path.h"

namespace berth::image {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

// Mount data must fit one page; leave room for the kernel's own additions.
constexpr size_t kMaxMountData = 4096 - 64;
constexpr const char* kTmpPrefix = "tmp-";

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (out.size() < n) out += fmt::format("{:016x}", rng());
  return out.substr(0, n);
}

std::string Dirname(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? std::string(".") : path.substr(0, pos);
}

// Holds a flock on <root>/.lock for its lifetime: shared by writers that place directories,
// exclusive for the orphan sweep, so the sweep never sees a placed but unrecorded directory.
class RootLock {
 public:
  static Result<RootLock> Take(const std::string& root, sys::LockMode mode) {
    RootLock l;
    l.fd_ = TRY(sys::Open(root + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    TRY(sys::Lock(l.fd_.get(), mode));
    return l;
  }

 private:
  sys::UniqueFd fd_;
};

}  // namespace

Result<int64_t> DirectorySize(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto it = std::filesystem::recursive_directory_iterator(
      dir, std::filesystem::directory_options::none, ec);
  if (ec) return Fail(Error::FromErrno(ec.value(), "walk \"" + dir + "\""));
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Fail(Error::FromErrno(ec.value(), "walk \"" + dir + "\""));
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
      total += st.st_size;
    } else if (S_ISLNK(st.st_mode)) {
      total += st.st_size;
    }
  }
  return total;
}

Result<std::unique_ptr<Snapshotter>> Snapshotter::Open(std::string root, MetadataStore* meta) {
  TRY_CTX(sys::MkdirAll(root, 0700), "open snapshotter");
  auto s = std::unique_ptr<Snapshotter>(new Snapshotter(std::move(root), meta));
  // Start numbering after the largest existing directory; Place() skips taken numbers anyway.
  auto names = TRY_CTX(sys::ListDir(s->root_), "open snapshotter");
  for (const auto& n : names) {
    if (auto v = base::ParseUint(n)) s->next_ = std::max(s->next_, *v + 1);
  }
  if (s->next_ == 0) s->next_ = 1;
  return s;
}

Result<std::string> Snapshotter::PrepareLayerDir() {
  std::string tmp = root_ + "/" + kTmpPrefix + RandomHex(16);
  if (mkdir(tmp.c_str(), 0700) != 0) return Fail(Error::FromErrno(errno, "mkdir \"" + tmp + "\""));
  std::string fs = tmp + "/fs";
  if (mkdir(fs.c_str(), 0755) != 0) return Fail(Error::FromErrno(errno, "mkdir \"" + fs + "\""));
  return fs;
}

Status Snapshotter::DiscardLayerDir(const std::string& dir) { return sys::RemoveAll(Dirname(dir)); }

Result<std::string> Snapshotter::Place(const std::string& tmp) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    uint64_t n;
    {
      std::lock_guard lock(mu_);
      n = next_++;
    }
    std::string key = std::to_string(n);
    std::string target = root_ + "/" + key;
    if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0)
      return key;
    // Another process took this number: try the next.
    if (errno != EEXIST && errno != ENOTEMPTY)
      return Fail(Error::FromErrno(errno, "rename \"" + tmp + "\" to \"" + target + "\""));
  }
  return Fail(Error::Internal("no free snapshot number under \"" + root_ + "\""));
}

Status Snapshotter::CommitLayer(const std::string& dir, const oci::Digest& chain_id,
                                const std::optional<oci::Digest>& parent, int64_t size) {
  auto ctx = "commit snapshot " + chain_id.ToString();
  std::string tmp = Dirname(dir);
  if (Exists(chain_id)) return DiscardLayerDir(dir);
  auto lock = TRY_CTX(RootLock::Take(root_, sys::LockMode::kShared), ctx);
  std::string key = TRY_CTX(Place(tmp), ctx);
  SnapshotRecord rec{chain_id, key, parent, size, 0};
  auto put = meta_->PutSnapshot(rec);
  if (!put) {
    (void)sys::RemoveAll(root_ + "/" + key);
    // A concurrent unpack of the same layer committed first: theirs is as good as ours.
    if (put.error().code() == base::ErrorCode::kAlreadyExists && Exists(chain_id)) return {};
    return Fail(std::move(put.error()).Context(ctx));
  }
  return {};
}

bool Snapshotter::Exists(const oci::Digest& chain_id) {
  return meta_->GetSnapshot(chain_id).has_value();
}

Result<std::string> Snapshotter::LayerDir(const oci::Digest& chain_id) {
  auto rec = TRY(meta_->GetSnapshot(chain_id));
  return root_ + "/" + rec.key + "/fs";
}

Result<std::string> Snapshotter::LowerDirs(const oci::Digest& top, size_t* count) {
  std::vector<std::string> dirs;
  std::optional<oci::Digest> cur = top;
  while (cur) {
    auto rec = TRY(meta_->GetSnapshot(*cur));
    dirs.push_back(root_ + "/" + rec.key + "/fs");
    cur = rec.parent;
  }
  *count = dirs.size();
  return base::Join(dirs, ":");
}

oci::Digest Snapshotter::ContainerId(const std::string& key) {
  return oci::Sha256Of("berth-container-snapshot:" + key);
}

Result<std::vector<MountSpec>> Snapshotter::PrepareContainer(
    const std::string& key, const std::optional<oci::Digest>& parent, bool durable) {
  auto ctx = "prepare container snapshot \"" + key + "\"";
  if (key.empty()) return Fail(Error::InvalidArgument(ctx + ": empty key"));
  oci::Digest id = ContainerId(key);
  if (Exists(id)) return Fail(Error::AlreadyExists(ctx + ": exists"));
  if (parent && !Exists(*parent))
    return Fail(Error::NotFound(ctx + ": parent " + parent->ToString() + " not found"));
  bool spare = false;
  std::string tmp = TRY_CTX(TakeContainerDir(&spare), ctx);
  {
    auto lock = TRY_CTX(RootLock::Take(root_, sys::LockMode::kShared), ctx);
    auto placed = Place(tmp);
    if (!placed && spare) {
      // The spare went meanwhile (CleanupOrphans of an old one): make the dirs after all.
      (void)sys::RemoveAll(tmp);
      tmp = TRY_CTX(MakeContainerDir(), ctx);
      placed = Place(tmp);
    }
    if (!placed) (void)sys::RemoveAll(tmp);
    std::string n = TRY_CTX(std::move(placed), ctx);
    auto put = meta_->PutSnapshot(SnapshotRecord{id, n, parent, 0, 1}, durable);
    if (!put) {
      (void)sys::RemoveAll(root_ + "/" + n);
      return Fail(std::move(put.error()).Context(ctx));
    }
  }
  return ContainerMounts(key);
}

Snapshotter::~Snapshotter() {
  for (const auto& tmp : spares_) (void)sys::RemoveAll(tmp);
}

Result<std::string> Snapshotter::MakeContainerDir() {
  std::string tmp = Dirname(TRY(PrepareLayerDir()));
  std::string work = tmp + "/work";
  if (mkdir(work.c_str(), 0700) != 0) {
    int e = errno;
    (void)sys::RemoveAll(tmp);
    return Fail(Error::FromErrno(e, "mkdir \"" + work + "\""));
  }
  return tmp;
}

Result<std::string> Snapshotter::TakeContainerDir(bool* spare) {
  {
    std::lock_guard lock(mu_);
    *spare = !spares_.empty();
    if (*spare) {
      std::string tmp = std::move(spares_.back());
      spares_.pop_back();
      return tmp;
    }
  }
  return MakeContainerDir();
}

Status Snapshotter::MakeSpareContainerDir() {
  {
    std::lock_guard lock(mu_);
    if (!spares_.empty()) return {};
  }
  std::string tmp = TRY_CTX(MakeContainerDir(), "spare container snapshot");
  std::lock_guard lock(mu_);
  spares_.push_back(std::move(tmp));
  return {};
}

Result<std::vector<MountSpec>> Snapshotter::ContainerMounts(const std::string& key) {
  auto rec = TRY_CTX(meta_->GetSnapshot(ContainerId(key)), "container snapshot \"" + key + "\"");
  std::string dir = root_ + "/" + rec.key;
  if (!rec.parent) return std::vector<MountSpec>{{"bind", dir + "/fs", {"rbind", "rw"}}};
  size_t count = 0;
  std::string lower = TRY(LowerDirs(*rec.parent, &count));
  std::string init = InitDir(TRY(meta_->GetSnapshot(*rec.parent)).key);
  if (access(init.c_str(), F_OK) == 0) {
    lower = init + ":" + lower;
    ++count;
  }
  MountSpec m{"overlay",
              "overlay",
              {"lowerdir=" + lower, "upperdir=" + dir + "/fs", "workdir=" + dir + "/work"}};
  size_t len = 0;
  for (const auto& o : m.options) len += o.size() + 1;
  if (len > kMaxMountData)
    return Fail(Error::InvalidArgument(
        fmt::format("overlay mount options exceed one page: {} layers ({} bytes)", count, len)));
  return std::vector<MountSpec>{std::move(m)};
}

namespace {

enum class Presence { kAbsent, kDirectory, kFile, kOther };

bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

bool IsOpaque(const std::string& dir) {
  char v[2];
  for (auto name : {archive::kTrustedOpaqueXattr, archive::kUserOpaqueXattr}) {
    if (lgetxattr(dir.c_str(), std::string(name).c_str(), v, sizeof v) == 1 && v[0] == 'y')
      return true;
  }
  return false;
}

// What the merged view of `layers` (top first) has at `rel`, whose parent (if any) the merged
// view has as a directory: the topmost layer that names it decides, unless a layer above hides
// the parent's lower contents (opaque) or the parent itself (a whiteout).
// `found` receives the deciding layer's stat when present.
Presence Lookup(const std::vector<std::string>& layers, const std::string& rel,
                struct stat* found = nullptr) {
  std::string parent = Dirname(rel) == "." ? "" : Dirname(rel);
  for (const auto& layer : layers) {
    struct stat st;
    if (lstat((layer + "/" + rel).c_str(), &st) == 0) {
      if (found) *found = st;
      if (IsWhiteout(st)) return Presence::kAbsent;
      if (S_ISDIR(st.st_mode)) return Presence::kDirectory;
      return S_ISREG(st.st_mode) ? Presence::kFile : Presence::kOther;
    }
    if (!parent.empty() && lstat((layer + "/" + parent).c_str(), &st) == 0) {
      if (IsWhiteout(st) || !S_ISDIR(st.st_mode)) return Presence::kAbsent;
      if (IsOpaque(layer + "/" + parent)) return Presence::kAbsent;
    }
  }
  return Presence::kAbsent;
}

}  // namespace

std::string Snapshotter::InitDir(const std::string& top_key) const {
  return root_ + "/" + top_key + "/init";
}

Status Snapshotter::EnsureInitLayer(const oci::Digest& top, const std::vector<MountPoint>& points) {
  auto ctx = "init layer of " + top.ToString();
  auto rec = TRY_CTX(meta_->GetSnapshot(top), ctx);
  std::string init = InitDir(rec.key);
  if (access(init.c_str(), F_OK) == 0) return {};
  std::vector<std::string> layers;
  for (std::optional<oci::Digest> cur = top; cur;) {
    auto r = TRY_CTX(meta_->GetSnapshot(*cur), ctx);
    layers.push_back(root_ + "/" + r.key + "/fs");
    cur = r.parent;
  }
  std::string tmp = root_ + "/" + rec.key + "/" + kTmpPrefix + RandomHex(16);
  if (mkdir(tmp.c_str(), 0755) != 0)
    return Fail(Error::FromErrno(errno, "mkdir \"" + tmp + "\"").Context(ctx));
  base::ScopeGuard discard([&] { (void)sys::RemoveAll(tmp); });
  for (const auto& p : points) {
    std::string rel = sys::CleanPath("/" + p.path).substr(1);
    if (rel.empty()) continue;
    // Every ancestor must be a directory in the image or absent from it. The init layer gets
    // each as a directory, which overlayfs merges with the image's; being the topmost layer,
    // its attributes are the merged directory's, so they are copied from the image's.
    bool usable = true, absent = false;
    std::vector<std::pair<std::string, std::optional<struct stat>>> ancestors;
    for (size_t slash = rel.find('/'); slash != std::string::npos && usable;
         slash = rel.find('/', slash + 1)) {
      struct stat st;
      Presence a = absent ? Presence::kAbsent : Lookup(layers, rel.substr(0, slash), &st);
      absent = a == Presence::kAbsent;
      // A symlink or file on the way: the runtime resolves it inside the rootfs at each start.
      usable = absent || a == Presence::kDirectory;
      ancestors.emplace_back(rel.substr(0, slash), absent ? std::nullopt : std::optional(st));
    }
    if (!usable || (!absent && Lookup(layers, rel) != Presence::kAbsent)) continue;
    for (const auto& [anc, st] : ancestors) {
      std::string dir = tmp + "/" + anc;
      if (mkdir(dir.c_str(), 0755) != 0) {
        if (errno == EEXIST) continue;
        return Fail(Error::FromErrno(errno, "mkdir \"" + anc + "\"").Context(ctx));
      }
      if (st) {
        (void)lchown(dir.c_str(), st->st_uid, st->st_gid);
        (void)chmod(dir.c_str(), st->st_mode & 07777);
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        (void)utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW);
      }
    }
    std::string path = tmp + "/" + rel;
    if (p.directory) {
      if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        return Fail(Error::FromErrno(errno, "mkdir \"" + rel + "\"").Context(ctx));
    } else {
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) return Fail(Error::FromErrno(errno, "create \"" + rel + "\"").Context(ctx));
      close(fd);
    }
  }
  if (rename(tmp.c_str(), init.c_str()) == 0) {
    discard.Dismiss();
    return {};
  }
  // Another creator's init layer is in place: ours is discarded.
  if (errno == EEXIST || errno == ENOTEMPTY) return {};
  return Fail(Error::FromErrno(errno, "rename \"" + tmp + "\"").Context(ctx));
}

Result<std::string> Snapshotter::ContainerUpperDir(const std::string& key) {
  auto rec = TRY_CTX(meta_->GetSnapshot(ContainerId(key)), "container snapshot \"" + key + "\"");
  return root_ + "/" + rec.key + "/fs";
}

Status Snapshotter::RemoveContainer(const std::string& key, bool durable) {
  auto ctx = "remove container snapshot \"" + key + "\"";
  oci::Digest id = ContainerId(key);
  auto rec = TRY_CTX(meta_->GetSnapshot(id), ctx);
  TRY_CTX(meta_->DeleteSnapshot(id, /*release_one=*/rec.refcount > 0, durable), ctx);
  // The record is gone first (as in Remove): a crash before the tree is gone leaves an orphan.
  std::string dir = root_ + "/" + rec.key;
  TRY_CTX(remove_container_tree_ ? remove_container_tree_(dir) : sys::RemoveAll(dir), ctx);
  return {};
}

Result<std::vector<MountSpec>> Snapshotter::View(const oci::Digest& chain_id) {
  size_t count = 0;
  std::string lower = TRY_CTX(LowerDirs(chain_id, &count), "view " + chain_id.ToString());
  if (count == 1) return std::vector<MountSpec>{{"bind", lower, {"rbind", "ro"}}};
  std::string opt = "lowerdir=" + lower;
  if (opt.size() > kMaxMountData)
    return Fail(Error::InvalidArgument(fmt::format(
        "overlay mount options exceed one page: {} layers ({} bytes)", count, opt.size())));
  return std::vector<MountSpec>{{"overlay", "overlay", {opt}}};
}

Result<int64_t> Snapshotter::Usage(const oci::Digest& chain_id) {
  auto rec = TRY(meta_->GetSnapshot(chain_id));
  return rec.size;
}

Result<int64_t> Snapshotter::ContainerUsage(const std::string& key) {
  return DirectorySize(TRY(ContainerUpperDir(key)));
}

Status Snapshotter::Remove(const oci::Digest& chain_id) {
  auto ctx = "remove snapshot " + chain_id.ToString();
  auto rec = TRY_CTX(meta_->GetSnapshot(chain_id), ctx);
  TRY_CTX(meta_->DeleteSnapshot(chain_id), ctx);
  // The record is gone first: a crash here leaves an orphan directory, never a record without
  // its directory.
  TRY_CTX(sys::RemoveAll(root_ + "/" + rec.key), ctx);
  return {};
}

Result<sys::UniqueFd> Snapshotter::Hold() {
  auto fd = TRY(sys::Open(root_ + "/.hold", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  TRY(sys::Lock(fd.get(), sys::LockMode::kShared));
  return fd;
}

Result<std::optional<sys::UniqueFd>> Snapshotter::TryHoldExclusive() {
  auto fd = TRY(sys::Open(root_ + "/.hold", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!TRY(sys::TryLock(fd.get(), sys::LockMode::kExclusive))) return std::nullopt;
  return std::optional<sys::UniqueFd>(std::move(fd));
}

Result<int> Snapshotter::CleanupOrphans(std::chrono::seconds max_age) {
  auto lock = TRY_CTX(RootLock::Take(root_, sys::LockMode::kExclusive), "clean up snapshots");
  auto records = TRY(meta_->ListSnapshots());
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.key);
  auto names = TRY(sys::ListDir(root_));
  int removed = 0;
  time_t now = time(nullptr);
  for (const auto& n : names) {
    std::string path = root_ + "/" + n;
    bool orphan = false;
    if (base::StartsWith(n, kTmpPrefix)) {
      struct stat st;
      orphan = lstat(path.c_str(), &st) == 0 && now - st.st_mtime >= max_age.count();
    } else if (base::ParseUint(n)) {
      orphan = !keys.count(n);
    }
    if (!orphan) continue;
    TRY_CTX(sys::RemoveAll(path), "clean up snapshots");
    ++removed;
  }
  return removed;
}

}  // namespace berth::image
