// Tests for MetadataStore: images, names, blob references, leases, snapshots, reopening, and
// writers SIGKILLed mid-transaction.
#include "image/metadata.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "sys/file.h"

namespace berth::image {
namespace {

using base::ErrorCode;
using oci::Digest;

Digest D(const std::string& s) { return oci::Sha256Of(s); }

ImageRecord MakeImage(const std::string& seed, int layers = 3) {
  ImageRecord r;
  r.id = D(seed + "/config");
  r.manifest_digest = D(seed + "/manifest");
  r.target = {.media_type = oci::media::kOciIndex, .digest = D(seed + "/index"), .size = 321};
  r.created = "2024-01-02T03:04:05Z";
  r.size = 1000;
  r.platform.os = "linux";
  r.platform.architecture = "arm64";
  r.platform.variant = "v8";
  std::vector<Digest> diffs;
  for (int i = 0; i < layers; ++i) diffs.push_back(D(seed + "/diff" + std::to_string(i)));
  auto chains = oci::ChainIds(diffs);
  for (int i = 0; i < layers; ++i)
    r.layers.push_back({.diff_id = diffs[i],
                        .chain_id = chains[i],
                        .blob = D(seed + "/blob" + std::to_string(i)),
                        .size = 100 + i,
                        .media_type = oci::media::kOciLayerGzip});
  return r;
}

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-meta-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    (void)sys::RemoveAll(root_);
  }
  void Reopen() {
    store_.reset();
    auto s = MetadataStore::Open(root_);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  std::string root_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_F(MetadataTest, PutGetRoundTrip) {
  ImageRecord img = MakeImage("a");
  img.names = {"docker.io/library/a:latest", "docker.io/library/a@" + D("a/manifest").ToString()};
  img.blobs = {D("a/attestation")};
  ASSERT_TRUE(store_->PutImage(img));

  auto got = store_->GetImage(img.id);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->id, img.id);
  EXPECT_EQ(got->manifest_digest, img.manifest_digest);
  EXPECT_EQ(got->target.media_type, img.target.media_type);
  EXPECT_EQ(got->target.digest, img.target.digest);
  EXPECT_EQ(got->target.size, 321);
  EXPECT_EQ(got->created, img.created);
  EXPECT_EQ(got->size, 1000);
  EXPECT_EQ(got->platform, img.platform);
  EXPECT_EQ(got->layers, img.layers);
  EXPECT_GT(got->added_at, 0);
  std::vector<std::string> names = img.names;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(got->names, names);
  std::vector<Digest> blobs = {img.id, img.manifest_digest, img.target.digest, D("a/attestation")};
  for (const auto& l : img.layers) blobs.push_back(l.blob);
  std::sort(blobs.begin(), blobs.end());
  EXPECT_EQ(got->blobs, blobs);

  EXPECT_EQ(store_->GetImage(D("nope")).error().code(), ErrorCode::kNotFound);
}

TEST_F(MetadataTest, RePutUpdatesAndKeepsAddedAt) {
  ImageRecord img = MakeImage("a", 3);
  ASSERT_TRUE(store_->PutImage(img));
  int64_t added = store_->GetImage(img.id)->added_at;
  img.layers.pop_back();
  img.size = 5;
  img.manifest_digest = D("a/manifest2");
  ASSERT_TRUE(store_->PutImage(img));
  auto got = store_->GetImage(img.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->layers.size(), 2u);
  EXPECT_EQ(got->size, 5);
  EXPECT_EQ(got->manifest_digest, D("a/manifest2"));
  EXPECT_EQ(got->added_at, added);
  // Earlier blob refs are kept.
  EXPECT_TRUE(std::count(got->blobs.begin(), got->blobs.end(), D("a/manifest")));
  EXPECT_EQ(store_->ListImages()->size(), 1u);
}

TEST_F(MetadataTest, TagResolveUntag) {
  ImageRecord a = MakeImage("a"), b = MakeImage("b");
  a.names = {"docker.io/library/x:1"};
  ASSERT_TRUE(store_->PutImage(a));
  ASSERT_TRUE(store_->PutImage(b));

  EXPECT_EQ(store_->ResolveName("docker.io/library/x:1")->id, a.id);
  EXPECT_EQ(store_->ResolveName(b.id.ToString())->id, b.id);
  EXPECT_EQ(store_->ResolveName("docker.io/library/none:1").error().code(), ErrorCode::kNotFound);

  // Tagging moves a name.
  ASSERT_TRUE(store_->Tag("docker.io/library/x:1", b.id));
  ASSERT_TRUE(store_->Tag("docker.io/library/x:2", b.id));
  EXPECT_EQ(store_->ResolveName("docker.io/library/x:1")->id, b.id);
  EXPECT_TRUE(store_->GetImage(a.id)->names.empty());
  EXPECT_EQ(store_->Tag("docker.io/library/y:1", D("missing")).error().code(),
            ErrorCode::kNotFound);

  auto still = store_->Untag("docker.io/library/x:1");
  ASSERT_TRUE(still);
  EXPECT_TRUE(*still);
  still = store_->Untag("docker.io/library/x:2");
  ASSERT_TRUE(still);
  EXPECT_FALSE(*still);
  EXPECT_EQ(store_->Untag("docker.io/library/x:2").error().code(), ErrorCode::kNotFound);
  // Untag never deletes the image.
  EXPECT_TRUE(store_->GetImage(b.id));
}

TEST_F(MetadataTest, ResolveIdPrefix) {
  ImageRecord a = MakeImage("a"), b = MakeImage("b");
  a.id = Digest::Sha256FromHex("abcd" + std::string(60, '0'));
  b.id = Digest::Sha256FromHex("abce" + std::string(60, '1'));
  ASSERT_TRUE(store_->PutImage(a));
  ASSERT_TRUE(store_->PutImage(b));
  EXPECT_EQ(store_->ResolveIdPrefix("abcd")->id, a.id);
  EXPECT_EQ(store_->ResolveIdPrefix("sha256:abce1")->id, b.id);
  EXPECT_EQ(store_->ResolveIdPrefix("abc").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->ResolveIdPrefix("ffff").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ResolveIdPrefix("ab%").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->ResolveIdPrefix("").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(MetadataTest, ListDeleteDangling) {
  ImageRecord a = MakeImage("a"), b = MakeImage("b"), c = MakeImage("c");
  a.added_at = 1;
  b.added_at = 3;
  c.added_at = 2;
  a.names = {"docker.io/library/a:latest"};
  b.names = {"docker.io/library/b@" + b.manifest_digest.ToString()};  // digest only: dangling
  ASSERT_TRUE(store_->PutImage(a));
  ASSERT_TRUE(store_->PutImage(b));
  ASSERT_TRUE(store_->PutImage(c));

  auto list = store_->ListImages();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, b.id);
  EXPECT_EQ((*list)[1].id, c.id);
  EXPECT_EQ((*list)[2].id, a.id);
  EXPECT_EQ((*list)[2].layers.size(), 3u);

  std::vector<Digest> dangling = {b.id, c.id};
  std::sort(dangling.begin(), dangling.end());
  EXPECT_EQ(*store_->DanglingImages(), dangling);

  ASSERT_TRUE(store_->DeleteImage(a.id));
  EXPECT_EQ(store_->DeleteImage(a.id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ResolveName("docker.io/library/a:latest").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListImages()->size(), 2u);
  ASSERT_TRUE(store_->Check());
}

TEST_F(MetadataTest, UnreferencedBlobsAndLeases) {
  ImageRecord a = MakeImage("a", 2), b = MakeImage("b", 2);
  b.layers[0] = a.layers[0];  // a shared base layer
  ASSERT_TRUE(store_->PutImage(a));
  ASSERT_TRUE(store_->PutImage(b));

  Digest loose = D("loose"), pulling = D("pulling"), expired = D("expired");
  std::vector<Digest> all = {a.id,
                             a.manifest_digest,
                             a.target.digest,
                             a.layers[0].blob,
                             a.layers[1].blob,
                             b.id,
                             b.manifest_digest,
                             b.target.digest,
                             b.layers[1].blob,
                             loose,
                             pulling,
                             expired};
  ASSERT_TRUE(store_->CreateLease("pull-1", std::chrono::seconds(0)));
  ASSERT_TRUE(store_->AddLeaseBlob("pull-1", pulling));
  ASSERT_TRUE(store_->AddLeaseBlob("pull-1", pulling));
  EXPECT_EQ(store_->CreateLease("pull-1", std::chrono::seconds(0)).error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->AddLeaseBlob("nope", pulling).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->CreateLease("short", std::chrono::seconds(1)));
  ASSERT_TRUE(store_->AddLeaseBlob("short", expired));

  std::vector<Digest> want = {loose};
  EXPECT_EQ(*store_->UnreferencedBlobs(all), want);

  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  want = {expired, loose};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*store_->UnreferencedBlobs(all), want);
  EXPECT_EQ(*store_->DeleteExpiredLeases(), 1);

  // Deleting a drops its own blobs but not the base layer b shares.
  ASSERT_TRUE(store_->DeleteImage(a.id));
  ASSERT_TRUE(store_->DeleteLease("pull-1"));
  EXPECT_EQ(store_->DeleteLease("pull-1").error().code(), ErrorCode::kNotFound);
  want = {a.id, a.manifest_digest, a.target.digest, a.layers[1].blob, loose, pulling, expired};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*store_->UnreferencedBlobs(all), want);
}

TEST_F(MetadataTest, Snapshots) {
  ImageRecord img = MakeImage("s", 2);
  SnapshotRecord base{.chain_id = img.layers[0].chain_id, .key = "1", .size = 10};
  SnapshotRecord top{.chain_id = img.layers[1].chain_id, .key = "2", .parent = base.chain_id};
  SnapshotRecord orphan{.chain_id = D("orphan"), .key = "3", .parent = D("no parent")};
  ASSERT_TRUE(store_->PutSnapshot(base));
  ASSERT_TRUE(store_->PutSnapshot(top));
  EXPECT_EQ(store_->PutSnapshot(orphan).error().code(), ErrorCode::kNotFound);
  auto dup = store_->PutSnapshot(base);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(dup.error().message().find("metadata: UNIQUE constraint failed: snapshots."),
            std::string::npos)
      << dup.error().message();
  SnapshotRecord same_key{.chain_id = D("other"), .key = "1"};
  EXPECT_EQ(store_->PutSnapshot(same_key).error().code(), ErrorCode::kAlreadyExists);

  EXPECT_EQ(*store_->GetSnapshot(top.chain_id), top);
  EXPECT_EQ(store_->GetSnapshot(D("x")).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListSnapshots()->size(), 2u);

  EXPECT_EQ(*store_->IncSnapshotRef(top.chain_id), 1);
  EXPECT_EQ(*store_->IncSnapshotRef(top.chain_id), 2);
  EXPECT_EQ(*store_->DecSnapshotRef(top.chain_id), 1);
  EXPECT_EQ(store_->IncSnapshotRef(D("x")).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->DecSnapshotRef(D("x")).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteSnapshot(top.chain_id).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->DeleteSnapshot(base.chain_id).error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(store_->UnreferencedSnapshots()->empty());
  // Dropping one of two references is not enough, and the failed delete keeps the reference.
  EXPECT_EQ(*store_->IncSnapshotRef(top.chain_id), 2);
  EXPECT_EQ(store_->DeleteSnapshot(top.chain_id, /*release_one=*/true).error().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(*store_->DecSnapshotRef(top.chain_id), 1);

  EXPECT_EQ(*store_->DecSnapshotRef(top.chain_id), 0);
  EXPECT_EQ(store_->DecSnapshotRef(top.chain_id).error().code(), ErrorCode::kInvalidArgument);
  // An image whose layers are these snapshots holds them.
  ASSERT_TRUE(store_->PutImage(img));
  EXPECT_TRUE(store_->UnreferencedSnapshots()->empty());
  EXPECT_EQ(store_->DeleteSnapshot(top.chain_id).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(store_->DeleteImage(img.id));

  auto free = store_->UnreferencedSnapshots();
  ASSERT_TRUE(free);
  ASSERT_EQ(free->size(), 2u);
  EXPECT_EQ((*free)[0].chain_id, top.chain_id);  // children first
  EXPECT_EQ((*free)[1].chain_id, base.chain_id);
  for (const auto& s : *free) ASSERT_TRUE(store_->DeleteSnapshot(s.chain_id));
  EXPECT_TRUE(store_->ListSnapshots()->empty());
  EXPECT_EQ(store_->DeleteSnapshot(base.chain_id).error().code(), ErrorCode::kNotFound);

  // The last holder releases and deletes in one go.
  ASSERT_TRUE(store_->PutSnapshot(base));
  EXPECT_EQ(*store_->IncSnapshotRef(base.chain_id), 1);
  ASSERT_TRUE(store_->DeleteSnapshot(base.chain_id, /*release_one=*/true));
  EXPECT_TRUE(store_->ListSnapshots()->empty());
}

// The WAL is checkpointed every 128 frames: a long run of small commits (a container's layer
// made and removed per `run --rm`) keeps rewriting the same half megabyte instead of growing
// the WAL to SQLite's 4 MB.
TEST_F(MetadataTest, TheWalStaysSmall) {
  for (int i = 0; i < 600; ++i) {
    SnapshotRecord rec{.chain_id = D("run" + std::to_string(i)), .key = "k" + std::to_string(i)};
    ASSERT_TRUE(store_->PutSnapshot(rec, /*durable=*/false));
    ASSERT_TRUE(store_->DeleteSnapshot(rec.chain_id, /*release_one=*/true, /*durable=*/false));
  }
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/berth.db-wal").c_str(), &st), 0);
  EXPECT_LT(st.st_size, 1 << 20);
}

TEST_F(MetadataTest, UnsyncedSnapshotCommitsBehaveTheSame) {
  SnapshotRecord rec{.chain_id = D("container"), .key = "c", .refcount = 1};
  ASSERT_TRUE(store_->PutSnapshot(rec, /*durable=*/false));
  EXPECT_EQ(*store_->GetSnapshot(rec.chain_id), rec);
  // A synced commit after it still works (the connection is back to FULL).
  ASSERT_TRUE(store_->PutSnapshot({.chain_id = D("other"), .key = "o"}));
  EXPECT_EQ(store_->PutSnapshot(rec, false).error().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->DeleteSnapshot(rec.chain_id, /*release_one=*/true, /*durable=*/false));
  EXPECT_EQ(store_->GetSnapshot(rec.chain_id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListSnapshots()->size(), 1u);
}

TEST_F(MetadataTest, ReopenKeepsData) {
  ImageRecord img = MakeImage("r");
  img.names = {"docker.io/library/r:latest"};
  ASSERT_TRUE(store_->PutImage(img));
  ASSERT_TRUE(store_->PutSnapshot({.chain_id = img.layers[0].chain_id, .key = "k"}));
  Reopen();
  EXPECT_EQ(*store_->SchemaVersion(), MetadataStore::kSchemaVersion);
  auto got = store_->ResolveName("docker.io/library/r:latest");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->layers, img.layers);
  EXPECT_TRUE(store_->GetSnapshot(img.layers[0].chain_id));
  EXPECT_TRUE(sys::Exists(root_ + "/berth.db"));
  ASSERT_TRUE(store_->Check());
}

TEST_F(MetadataTest, RefusesNewerSchema) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((root_ + "/berth.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = MetadataStore::Open(root_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99 is newer"), std::string::npos)
      << s.error().message();
}

// Forks a child that runs fn and then signals readiness over a pipe and sleeps; returns its pid
// once it is ready.
template <typename F>
pid_t ForkReady(F fn) {
  int p[2];
  if (::pipe(p) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    int rc = fn();
    if (rc != 0) ::_exit(rc);
    char c = 'r';
    if (::write(p[1], &c, 1) != 1) ::_exit(9);
    for (;;) ::pause();
  }
  ::close(p[1]);
  char c;
  bool ready = pid > 0 && ::read(p[0], &c, 1) == 1;
  ::close(p[0]);
  return ready ? pid : -1;
}

// Owns a forked child: KillAndReap ends it, and the destructor does so if a failed assertion
// returned first, so no child outlives its test.
struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
  }
  void KillAndReap() {
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    pid = -1;
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
  }
};

// A writer killed inside an open transaction, after much of it already reached the WAL.
TEST_F(MetadataTest, KilledMidTransactionLeavesDbConsistent) {
  ImageRecord kept = MakeImage("kept");
  ASSERT_TRUE(store_->PutImage(kept));
  store_.reset();

  std::string path = root_ + "/berth.db";
  Child child{ForkReady([&]() -> int {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 2;
    // A tiny cache forces the uncommitted pages out into the WAL before the kill.
    const std::string id = "'sha256:" + std::string(64, 'e') + "'";
    const std::string sql =
        "PRAGMA cache_size = 2; PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;"
        "INSERT INTO images VALUES (" +
        id +
        ", 'm', 't', 'td', 1, 'c', 1, 'linux', 'amd64', '', 1);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO layers SELECT " +
        id +
        ", i, printf('d%d', i), printf('c%d', i), printf('b%d', i), i, 'x' FROM n;"
        "DELETE FROM names;";
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 3;
  })};
  child.KillAndReap();

  Reopen();
  ASSERT_TRUE(store_->Check());
  auto images = store_->ListImages();
  ASSERT_TRUE(images) << images.error().message();
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ((*images)[0].id, kept.id);
  EXPECT_EQ((*images)[0].layers, kept.layers);
  // The dead writer's lock is gone: writing works at once.
  ASSERT_TRUE(store_->PutImage(MakeImage("after")));
}

// While another process holds the write lock, a write waits busy_timeout and then fails as
// Unavailable instead of hanging.
TEST_F(MetadataTest, BusyDatabaseIsUnavailable) {
  std::string path = root_ + "/berth.db";
  Child child{ForkReady([&]() -> int {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 2;
    return sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 3;
  })};
  ASSERT_GT(child.pid, 0);
  auto s = MetadataStore::Open(root_, std::chrono::milliseconds(100));
  ASSERT_TRUE(s);
  auto st = (*s)->PutImage(MakeImage("busy"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable) << st.error().message();
  // Reads still work under WAL.
  EXPECT_TRUE((*s)->ListImages());
  child.KillAndReap();
  EXPECT_TRUE((*s)->PutImage(MakeImage("busy")));
}

// Writers killed at arbitrary points of a stream of PutImage calls: every image present is whole.
TEST_F(MetadataTest, KilledPutImageLoopLeavesWholeImages) {
  store_.reset();
  constexpr int kLayers = 30;
  for (int round = 0; round < 3; ++round) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Child child{::fork()};
    ASSERT_GE(child.pid, 0);
    if (child.pid == 0) {
      ::close(p[0]);
      auto s = MetadataStore::Open(root_);
      if (!s) ::_exit(2);
      for (int i = 0;; ++i) {
        ImageRecord img = MakeImage(std::to_string(round) + "-" + std::to_string(i), kLayers);
        img.names = {"docker.io/library/loop:" + std::to_string(i)};
        if (!(*s)->PutImage(img)) ::_exit(3);
        if (i == 0 && ::write(p[1], "c", 1) != 1) ::_exit(4);
      }
    }
    ::close(p[1]);
    char c;
    ASSERT_EQ(::read(p[0], &c, 1), 1);  // at least one image is in
    ::close(p[0]);
    ::usleep(30000 + round * 23000);
    child.KillAndReap();
  }
  Reopen();
  ASSERT_TRUE(store_->Check());
  auto images = store_->ListImages();
  ASSERT_TRUE(images);
  EXPECT_FALSE(images->empty());
  for (const auto& img : *images) {
    EXPECT_EQ(img.layers.size(), static_cast<size_t>(kLayers));
    EXPECT_EQ(img.blobs.size(), static_cast<size_t>(kLayers + 3));
  }
}

}  // namespace
}  // namespace berth::image
