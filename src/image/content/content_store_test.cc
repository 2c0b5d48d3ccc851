// Tests for ContentStore: commit and verification, resumable ingests, locking, cleanup, and a
// writer SIGKILLed mid-blob.
#include "image/content/content_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sys/file.h"

namespace berth::image {
namespace {

using base::ErrorCode;
using oci::Digest;

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-content-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    auto store = ContentStore::Open(root_);
    ASSERT_TRUE(store) << store.error().message();
    store_.emplace(std::move(*store));
  }
  void TearDown() override { (void)sys::RemoveAll(root_); }

  std::string IngestDir(const std::string& ref) {
    return root_ + "/ingest/" + ContentStore::IngestName(ref);
  }

  std::string root_;
  std::optional<ContentStore> store_;
};

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 8));
  return s;
}

TEST_F(ContentStoreTest, PutReadListDelete) {
  std::string data = "hello, blob";
  auto d = store_->Put(data);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, oci::Sha256Of(data));
  EXPECT_TRUE(store_->Exists(*d));
  EXPECT_TRUE(sys::Exists(root_ + "/blobs/sha256/" + d->hex()));

  auto info = store_->Stat(*d);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
  EXPECT_GT(info->committed_at, 0);

  auto all = store_->ReadAll(*d, 1024);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, data);
  auto fd = store_->Open(*d);
  ASSERT_TRUE(fd);
  EXPECT_EQ(*sys::ReadFd(fd->get()), data);

  auto list = store_->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, std::vector<Digest>{*d});
  // No ingest is left behind.
  EXPECT_TRUE(sys::ListDir(root_ + "/ingest")->empty());

  ASSERT_TRUE(store_->Delete(*d));
  EXPECT_FALSE(store_->Exists(*d));
  EXPECT_EQ(store_->Stat(*d).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Open(*d).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Delete(*d).error().code(), ErrorCode::kNotFound);
}

TEST_F(ContentStoreTest, PutIsIdempotentAndChecksExpected) {
  std::string data = Pattern(5000, 'a');
  Digest d = oci::Sha256Of(data);
  ASSERT_TRUE(store_->Put(data, d));
  ASSERT_TRUE(store_->Put(data, d));
  EXPECT_EQ(store_->List()->size(), 1u);

  auto bad = store_->Put("other", d);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_EQ(store_->List()->size(), 1u);
}

TEST_F(ContentStoreTest, DigestMismatchRemovesIngest) {
  std::string data = "the real bytes";
  Digest want = oci::Sha256Of("something else!");
  auto w = store_->Writer("ref1", want, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_TRUE((*w)->Write(data));
  auto c = (*w)->Commit();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("digest mismatch: expected " + want.ToString() + ", got " +
                                     oci::Sha256Of(data).ToString()),
            std::string::npos)
      << c.error().message();
  EXPECT_FALSE(sys::Exists(IngestDir("ref1")));
  EXPECT_TRUE(store_->List()->empty());
  // The writer is closed.
  EXPECT_FALSE((*w)->Write("x"));
}

TEST_F(ContentStoreTest, SizeChecks) {
  std::string data = Pattern(100, 'q');
  Digest d = oci::Sha256Of(data);
  auto w = store_->Writer("sized", d, 100);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write(data.substr(0, 60)));
  auto early = (*w)->Commit();
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("size mismatch: expected 100, got 60"), std::string::npos);
  auto over = (*w)->Write(data.substr(0, 41));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*w)->Offset(), 60);
  // Still usable after both refusals.
  ASSERT_TRUE((*w)->Write(data.substr(60)));
  auto c = (*w)->Commit();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, d);
}

TEST_F(ContentStoreTest, ResumeContinuesAtOffset) {
  std::string data = Pattern(3 << 20, 'r');  // larger than the re-hash buffer
  Digest d = oci::Sha256Of(data);
  std::string ref = d.ToString();
  {
    auto w = store_->Writer(ref, d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(w);
    EXPECT_EQ((*w)->Offset(), 0);
    ASSERT_TRUE((*w)->Write(data.substr(0, 1500000)));
    // Dropped without commit: the bytes stay for a resume.
  }
  EXPECT_FALSE(store_->Exists(d));
  auto w = store_->Writer(ref, d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->Offset(), 1500000);
  ASSERT_TRUE((*w)->Write(data.substr(1500000)));
  auto c = (*w)->Commit();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*store_->ReadAll(d, 10 << 20), data);
  EXPECT_FALSE(sys::Exists(IngestDir(ref)));
}

TEST_F(ContentStoreTest, ResumeLongerThanExpectedRestarts) {
  {
    auto w = store_->Writer("long", std::nullopt, -1);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write("0123456789"));
  }
  auto w = store_->Writer("long", oci::Sha256Of("abc"), 3);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->Offset(), 0);
  ASSERT_TRUE((*w)->Write("abc"));
  ASSERT_TRUE((*w)->Commit());
}

TEST_F(ContentStoreTest, TruncateStartsOver) {
  auto w = store_->Writer("trunc", oci::Sha256Of("good"), 4);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write("ba"));
  ASSERT_TRUE((*w)->Truncate());
  EXPECT_EQ((*w)->Offset(), 0);
  ASSERT_TRUE((*w)->Write("good"));
  auto c = (*w)->Commit();
  ASSERT_TRUE(c) << c.error().message();
}

TEST_F(ContentStoreTest, OneWriterPerRef) {
  auto w1 = store_->Writer("busy", std::nullopt, -1);
  ASSERT_TRUE(w1);
  auto w2 = store_->Writer("busy", std::nullopt, -1);
  ASSERT_FALSE(w2);
  EXPECT_EQ(w2.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(w2.error().message(), "ref busy locked");
  // Another ref is independent.
  EXPECT_TRUE(store_->Writer("other", std::nullopt, -1));
  w1->reset();
  EXPECT_TRUE(store_->Writer("busy", std::nullopt, -1));
}

TEST_F(ContentStoreTest, CommitOfExistingContentIsNoop) {
  std::string data = "shared layer";
  Digest d = oci::Sha256Of(data);
  auto a = store_->Writer("a", d, static_cast<int64_t>(data.size()));
  auto b = store_->Writer("b", d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->Write(data));
  ASSERT_TRUE((*b)->Write(data));
  ASSERT_TRUE((*a)->Commit());
  auto c = (*b)->Commit();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, d);
  EXPECT_EQ(*store_->List(), std::vector<Digest>{d});
  EXPECT_TRUE(sys::ListDir(root_ + "/ingest")->empty());
}

TEST_F(ContentStoreTest, AbortRemovesIngest) {
  auto w = store_->Writer("gone", std::nullopt, -1);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write("partial"));
  ASSERT_TRUE((*w)->Abort());
  EXPECT_FALSE(sys::Exists(IngestDir("gone")));
  auto again = store_->Writer("gone", std::nullopt, -1);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->Offset(), 0);
}

TEST_F(ContentStoreTest, CleanupIngestsRemovesOnlyStaleUnlocked) {
  {
    auto w = store_->Writer("stale", std::nullopt, -1);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write("abc"));
  }
  {
    auto w = store_->Writer("fresh", std::nullopt, -1);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write("abc"));
  }
  auto live = store_->Writer("live", std::nullopt, -1);
  ASSERT_TRUE(live);
  ASSERT_TRUE((*live)->Write("abc"));

  struct timespec old[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  for (const char* ref : {"stale", "live"}) {
    ASSERT_EQ(::utimensat(AT_FDCWD, (IngestDir(ref) + "/data").c_str(), old, 0), 0);
    ASSERT_EQ(::utimensat(AT_FDCWD, IngestDir(ref).c_str(), old, 0), 0);
  }
  auto n = store_->CleanupIngests(std::chrono::hours(1));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(sys::Exists(IngestDir("stale")));
  EXPECT_TRUE(sys::Exists(IngestDir("fresh")));
  EXPECT_TRUE(sys::Exists(IngestDir("live")));
  // The live writer is unaffected.
  ASSERT_TRUE((*live)->Write("def"));
  ASSERT_TRUE((*live)->Commit());
}

TEST_F(ContentStoreTest, IngestNames) {
  EXPECT_EQ(ContentStore::IngestName("sha256:ab12"), "sha256%3Aab12");
  EXPECT_EQ(ContentStore::IngestName("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(ContentStore::IngestName(".."), "%2E.");
  EXPECT_EQ(ContentStore::IngestName("."), "%2E");
  EXPECT_NE(ContentStore::IngestName("a:b"), ContentStore::IngestName("a_b"));
  std::string long_ref(300, '/');
  std::string name = ContentStore::IngestName(long_ref);
  EXPECT_EQ(name, "%sha256-" + oci::Sha256Of(long_ref).hex());
  // Refs with slashes and dots never escape the ingest root.
  auto w = store_->Writer("../../etc/x", std::nullopt, -1);
  ASSERT_TRUE(w);
  EXPECT_EQ(ContentStore::IngestName("../../etc/x"), "%2E.%2F..%2Fetc%2Fx");
  EXPECT_TRUE(sys::Exists(root_ + "/ingest/%2E.%2F..%2Fetc%2Fx/data"));
}

TEST_F(ContentStoreTest, ReadAllLimitsAndVerifies) {
  std::string data = Pattern(1000, 'z');
  Digest d = *store_->Put(data);
  auto big = store_->ReadAll(d, 999);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kInvalidArgument);

  std::string path = root_ + "/blobs/sha256/" + d.hex();
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(sys::WriteFileReplace(path, Pattern(1000, 'y')));
  auto bad = store_->ReadAll(d, 1000);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInternal);
  EXPECT_NE(bad.error().message().find("corrupt"), std::string::npos);
}

TEST_F(ContentStoreTest, RejectsOtherAlgorithms) {
  auto d512 = Digest::Parse("sha512:" + std::string(128, 'a'));
  ASSERT_TRUE(d512);
  EXPECT_FALSE(store_->Exists(*d512));
  EXPECT_EQ(store_->Stat(*d512).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->Writer("x", *d512, 1).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->Writer("", std::nullopt, 1).error().code(), ErrorCode::kInvalidArgument);
  // Stray files in the blob dir are not blobs.
  ASSERT_TRUE(sys::WriteFileReplace(root_ + "/blobs/sha256/junk", "x"));
  EXPECT_TRUE(store_->List()->empty());
}

// A child writes a blob slowly and is SIGKILLed mid-write. Nothing partial may be visible, the
// store must reopen as is, and the write must resume where the child stopped.
TEST_F(ContentStoreTest, SigkillMidWriteThenResume) {
  constexpr size_t kChunk = 4096;
  constexpr size_t kChunks = 256;
  std::string data = Pattern(kChunk * kChunks, 'k');
  Digest d = oci::Sha256Of(data);
  std::string ref = d.ToString();

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(p[0]);
    auto store = ContentStore::Open(root_);
    if (!store) ::_exit(2);
    auto w = store->Writer(ref, d, static_cast<int64_t>(data.size()));
    if (!w) ::_exit(3);
    for (size_t i = 0; i < kChunks; ++i) {
      if (!(*w)->Write(data.data() + i * kChunk, kChunk)) ::_exit(4);
      char c = 'w';
      if (::write(p[1], &c, 1) != 1) ::_exit(5);
      ::usleep(1000);
      // However slow the parent is to kill us, the kill lands mid-blob.
      if (i == kChunks / 2)
        for (;;) ::pause();
    }
    ::_exit(6);
  }
  ::close(p[1]);
  // Let it get a few chunks in, then kill it mid-stream.
  char c;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(::read(p[0], &c, 1), 1);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(p[0]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

  // Reopen as a restarted daemon would: no repair step exists.
  store_.reset();
  auto reopened = ContentStore::Open(root_);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->Exists(d));
  EXPECT_TRUE(reopened->List()->empty());
  EXPECT_EQ(reopened->Stat(d).error().code(), ErrorCode::kNotFound);

  // The kernel dropped the dead writer's lock; resume from its offset.
  auto w = reopened->Writer(ref, d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(w) << w.error().message();
  int64_t off = (*w)->Offset();
  EXPECT_GE(off, static_cast<int64_t>(20 * kChunk));
  EXPECT_LT(off, static_cast<int64_t>(data.size()));
  ASSERT_TRUE((*w)->Write(data.data() + off, data.size() - static_cast<size_t>(off)));
  auto committed = (*w)->Commit();
  ASSERT_TRUE(committed) << committed.error().message();
  EXPECT_EQ(*committed, d);
  EXPECT_EQ(*reopened->ReadAll(d, 2 << 20), data);
}

// Children committing blobs in a loop are killed at arbitrary points; every visible blob must be
// whole and correct.
TEST_F(ContentStoreTest, SigkillDuringCommitsLeavesOnlyWholeBlobs) {
  for (int round = 0; round < 3; ++round) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(p[0]);
      auto store = ContentStore::Open(root_);
      if (!store) ::_exit(2);
      for (int i = 0;; ++i) {
        std::string data = Pattern(static_cast<size_t>(1000 + (i * 7919) % 200000),
                                   static_cast<char>(round * 50 + i));
        if (!store->Put(data)) ::_exit(3);
        if (i == 0 && ::write(p[1], "c", 1) != 1) ::_exit(4);
      }
    }
    ::close(p[1]);
    char c;
    ASSERT_EQ(::read(p[0], &c, 1), 1);  // at least one blob is in
    ::close(p[0]);
    ::usleep(20000 + round * 17000);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
  }
  auto reopened = ContentStore::Open(root_);
  ASSERT_TRUE(reopened);
  auto list = reopened->List();
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->empty());
  for (const auto& d : *list) {
    auto data = reopened->ReadAll(d, 1 << 20);
    EXPECT_TRUE(data) << data.error().message();
  }
  // The dead writers' ingests are unlocked garbage; an age of 0 collects them all.
  auto n = reopened->CleanupIngests(std::chrono::seconds(0));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_TRUE(sys::ListDir(root_ + "/ingest")->empty());
}

}  // namespace
}  // namespace berth::image
