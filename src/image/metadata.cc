// MetadataStore over SQLite: schema and migrations, statement and transaction wrappers, queries.
// Values only ever reach SQL as bound parameters; the only text run unbound is the fixed schema.
#include "image/metadata.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

namespace berth::image {

using base::Error;
using base::ErrorCode;
using base::Fail;
using base::Result;
using base::Status;
using oci::Digest;

namespace {

// TRY_CTX for a returned Status (TRY yields no value for Result<void>).
Status WithContext(Status st, std::string_view what) {
  if (!st) return Fail(std::move(st).error().Context(what));
  return {};
}

// Migration i takes the schema from version i to i+1. Append only; never edit a shipped entry.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE images (
  id                TEXT PRIMARY KEY,
  manifest_digest   TEXT NOT NULL,
  target_media_type TEXT NOT NULL,
  target_digest     TEXT NOT NULL,
  target_size       INTEGER NOT NULL,
  created           TEXT NOT NULL,
  size              INTEGER NOT NULL,
  os                TEXT NOT NULL,
  architecture      TEXT NOT NULL,
  variant           TEXT NOT NULL,
  added_at          INTEGER NOT NULL
);
CREATE TABLE names (
  name     TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('tag', 'digest'))
);
CREATE INDEX names_by_image ON names(image_id);
CREATE TABLE layers (
  image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL CHECK (idx >= 0),
  diff_id     TEXT NOT NULL,
  chain_id    TEXT NOT NULL,
  blob_digest TEXT NOT NULL,
  size        INTEGER NOT NULL,
  media_type  TEXT NOT NULL,
  PRIMARY KEY (image_id, idx)
);
CREATE INDEX layers_by_chain ON layers(chain_id);
CREATE TABLE image_blobs (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  blob     TEXT NOT NULL,
  PRIMARY KEY (image_id, blob)
);
CREATE INDEX image_blobs_by_blob ON image_blobs(blob);
CREATE TABLE leases (
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE lease_blobs (
  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  blob     TEXT NOT NULL,
  PRIMARY KEY (lease_id, blob)
);
CREATE TABLE snapshots (
  chain_id TEXT PRIMARY KEY,
  key      TEXT NOT NULL UNIQUE,
  parent   TEXT REFERENCES snapshots(chain_id),
  size     INTEGER NOT NULL,
  refcount INTEGER NOT NULL CHECK (refcount >= 0)
);
CREATE INDEX snapshots_by_parent ON snapshots(parent);
)sql",
};
constexpr int kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == MetadataStore::kSchemaVersion);

ErrorCode ClassOf(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return ErrorCode::kAlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return ErrorCode::kConflict;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorCode::kInvalidArgument;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kInternal;
  }
}

Error SqlError(sqlite3* db, int rc) {
  // errmsg describes the connection's latest failure; fall back to the code's text when the
  // failure came from somewhere that does not set it.
  const char* msg = db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(ClassOf(rc), fmt::format("metadata: {}", msg));
}

int64_t NowNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t NowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

}  // namespace

// The statements of one connection, by the address of their SQL text (string literals: one
// entry per call site). An entry in use (a statement still stepping while the same SQL runs
// again, nested) makes the second use prepare a statement of its own.
class StmtCache {
 public:
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() {
    for (auto& [sql, e] : entries_) sqlite3_finalize(e.stmt);
  }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;
  sqlite3* db() const { return db_; }
  Entry& At(const char* sql) { return entries_[sql]; }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, Entry> entries_;
};

namespace {

// A prepared statement, its own (Prepare) or borrowed from a StmtCache (Cached: reset and its
// bindings cleared when done). Bind errors are kept and reported by the next Step/Run.
class Stmt {
 public:
  static Result<Stmt> Prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return Fail(SqlError(db, rc));
    return Stmt(db, s, nullptr);
  }
  static Result<Stmt> Cached(StmtCache& cache, const char* sql) {
    StmtCache::Entry& e = cache.At(sql);
    if (e.in_use) return Prepare(cache.db(), sql);
    if (!e.stmt) {
      int rc = sqlite3_prepare_v3(cache.db(), sql, -1, SQLITE_PREPARE_PERSISTENT, &e.stmt, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(e.stmt);
        e.stmt = nullptr;
        return Fail(SqlError(cache.db(), rc));
      }
    }
    e.in_use = true;
    return Stmt(cache.db(), e.stmt, &e.in_use);
  }
  Stmt(Stmt&& o) noexcept
      : db_(o.db_),
        s_(std::exchange(o.s_, nullptr)),
        in_use_(std::exchange(o.in_use_, nullptr)),
        bind_rc_(o.bind_rc_) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (!in_use_) {
      sqlite3_finalize(s_);
      return;
    }
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    *in_use_ = false;
  }

  Stmt& Bind(int i, std::string_view v) {
    Keep(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const Digest& d) { return Bind(i, d.ToString()); }
  Stmt& Bind(int i, int64_t v) {
    Keep(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& BindNull(int i) {
    Keep(sqlite3_bind_null(s_, i));
    return *this;
  }

  // True with a row to read, false when done.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return Fail(SqlError(db_, bind_rc_));
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Fail(SqlError(db_, sqlite3_extended_errcode(db_)));
  }
  // Runs to completion (for statements without rows) and readies the statement for new binds.
  Status Run() {
    while (TRY(Step())) {
    }
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    return {};
  }
  int Changes() const { return sqlite3_changes(db_); }

  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  Result<Digest> DigestAt(int col) const {
    std::string t = Text(col);
    auto d = Digest::Parse(t);
    if (!d)
      return Fail(Error::Internal(fmt::format("metadata: corrupt digest \"{}\" in column {}", t,
                                              sqlite3_column_name(s_, col))));
    return d;
  }

 private:
  Stmt(sqlite3* db, sqlite3_stmt* s, bool* in_use) : db_(db), s_(s), in_use_(in_use) {}
  void Keep(int rc) {
    if (bind_rc_ == SQLITE_OK && rc != SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  bool* in_use_;  // the cache entry's flag; null for a statement of our own
  int bind_rc_ = SQLITE_OK;
};

// One statement through the cache (BEGIN, COMMIT, PRAGMA ...).
Status Exec(StmtCache& cache, const char* sql) {
  auto s = TRY(Stmt::Cached(cache, sql));
  return s.Run();
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  Error e(ClassOf(sqlite3_extended_errcode(db)),
          fmt::format("metadata: {}", err ? err : sqlite3_errstr(rc)));
  sqlite3_free(err);
  return Fail(std::move(e));
}

// A transaction that rolls back unless committed. Writers use BEGIN IMMEDIATE: taking the write
// lock up front means a busy database is waited for (busy_timeout) instead of failing midway
// with a deadlock when a read transaction tries to upgrade.
class Tx {
 public:
  enum Kind { kRead, kWrite };
  static Result<Tx> Begin(StmtCache& db, Kind kind) {
    TRY(Exec(db, kind == kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
    return Tx(&db);
  }
  Tx(Tx&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Tx& operator=(Tx&&) = delete;
  ~Tx() {
    if (db_) (void)Exec(*db_, "ROLLBACK");
  }
  Status Commit() {
    StmtCache* db = std::exchange(db_, nullptr);
    auto st = Exec(*db, "COMMIT");
    if (!st) (void)Exec(*db, "ROLLBACK");
    return st;
  }

 private:
  explicit Tx(StmtCache* db) : db_(db) {}
  StmtCache* db_;
};

// While alive, commits on `db` are not synced (PRAGMA synchronous=OFF) when `relaxed`; FULL
// again afterwards. WAL keeps the database consistent either way: a power loss can only drop
// the unsynced commits at the tail. Declared before the Tx, so the Tx ends first.
class RelaxedSync {
 public:
  RelaxedSync(StmtCache& db, bool relaxed) : db_(relaxed ? &db : nullptr) {
    if (db_) (void)Exec(*db_, "PRAGMA synchronous=OFF");
  }
  ~RelaxedSync() {
    if (db_) (void)Exec(*db_, "PRAGMA synchronous=FULL");
  }
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  StmtCache* db_;
};

Error ImageNotFound(const Digest& id) {
  return Error::NotFound(fmt::format("image {} not found", id.ToString()));
}
Error SnapshotNotFound(const Digest& id) {
  return Error::NotFound(fmt::format("snapshot {} not found", id.ToString()));
}

const char* NameKind(const std::string& name) {
  return name.find('@') != std::string::npos ? "digest" : "tag";
}

Result<SnapshotRecord> ReadSnapshotRow(const Stmt& s) {
  SnapshotRecord r;
  r.chain_id = TRY(s.DigestAt(0));
  r.key = s.Text(1);
  if (!s.IsNull(2)) r.parent = TRY(s.DigestAt(2));
  r.size = s.Int(3);
  r.refcount = s.Int(4);
  return r;
}

// ReadSnapshotRow's columns. Whole statements, not formatted: the statement cache keys on the
// text's address.
constexpr const char* kSelectSnapshot =
    "SELECT chain_id, key, parent, size, refcount FROM snapshots WHERE chain_id = ?1";
constexpr const char* kSelectSnapshots =
    "SELECT chain_id, key, parent, size, refcount FROM snapshots ORDER BY chain_id";
constexpr const char* kSelectAllSnapshots =
    "SELECT chain_id, key, parent, size, refcount FROM snapshots";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening and schema

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& root,
                                                           std::chrono::milliseconds busy_timeout) {
  std::string path = root + "/berth.db";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqlError(db, rc);
    sqlite3_close(db);
    return Fail(std::move(e).Context(fmt::format("open \"{}\"", path)));
  }
  std::unique_ptr<MetadataStore> store(new MetadataStore(db, path));
  auto ctx = fmt::format("open \"{}\"", path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  {
    auto s = TRY_CTX(Stmt::Prepare(db, "PRAGMA journal_mode=WAL"), ctx);
    bool row = TRY_CTX(s.Step(), ctx);
    if (!row || s.Text(0) != "wal")
      return Fail(Error::Internal(
          fmt::format("{}: metadata: cannot use WAL journal (mode is \"{}\")", ctx, s.Text(0))));
  }
  // FULL: a pull reported done must survive power loss, not just a crash of berthd.
  TRY_CTX(Exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL"), ctx);
  // A small WAL (checkpointed every 128 frames, ~0.5 MB, instead of SQLite's 1000): commits
  // then overwrite pages written a few dozen commits before, still in the page cache, instead
  // of extending the file or, once it wrapped, rewriting 4 MB of it whose pages have long been
  // evicted. A WAL frame is not page-aligned, so a write into an evicted page first reads it
  // from disk (~0.25 ms in a `run`'s create on the reference VM, which reclaims cold pages).
  TRY_CTX(Exec(db, "PRAGMA wal_autocheckpoint=128"), ctx);
  TRY_CTX(store->Migrate(), ctx);
  return store;
}

MetadataStore::MetadataStore(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), stmts_(std::make_unique<StmtCache>(db)) {}

MetadataStore::~MetadataStore() {
  stmts_.reset();  // finalized before the connection closes
  sqlite3_close(db_);
}

Status MetadataStore::Migrate() {
  {
    // The usual case needs no write lock, so opening does not wait for another process's write.
    auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
    auto s = TRY(Stmt::Cached(*stmts_,
                              "SELECT (SELECT count(*) FROM sqlite_schema "
                              "WHERE type = 'table' AND name = 'schema_version')"));
    if (TRY(s.Step()) && s.Int(0) == 1) {
      auto v = TRY(Stmt::Cached(*stmts_, "SELECT version FROM schema_version WHERE id = 1"));
      if (TRY(v.Step()) && v.Int(0) == kSchemaVersion) return tx.Commit();
    }
  }
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kWrite));
  TRY(Exec(db_,
           "CREATE TABLE IF NOT EXISTS schema_version ("
           " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    auto s = TRY(Stmt::Cached(*stmts_, "SELECT version FROM schema_version WHERE id = 1"));
    if (TRY(s.Step())) version = s.Int(0);
  }
  if (version > kSchemaVersion)
    return Fail(Error::Internal(
        fmt::format("metadata: database schema version {} is newer than this berth supports ({})",
                    version, kSchemaVersion)));
  if (version == kSchemaVersion) return tx.Commit();
  for (int64_t v = version; v < kSchemaVersion; ++v)
    TRY_CTX(Exec(db_, kMigrations[v]), fmt::format("migrate schema {} -> {}", v, v + 1));
  auto s = TRY(Stmt::Cached(*stmts_,
                            "INSERT INTO schema_version (id, version) VALUES (1, ?1) "
                            "ON CONFLICT (id) DO UPDATE SET version = excluded.version"));
  TRY(s.Bind(1, static_cast<int64_t>(kSchemaVersion)).Run());
  return tx.Commit();
}

Result<int> MetadataStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  auto s = TRY(Stmt::Cached(*stmts_, "SELECT version FROM schema_version WHERE id = 1"));
  if (!TRY(s.Step())) return 0;
  return static_cast<int>(s.Int(0));
}

Status MetadataStore::Check() {
  std::lock_guard lock(mu_);
  {
    auto s = TRY(Stmt::Cached(*stmts_, "PRAGMA integrity_check"));
    if (TRY(s.Step()) && s.Text(0) != "ok")
      return Fail(Error::Internal(fmt::format("metadata: integrity check: {}", s.Text(0))));
  }
  auto s = TRY(Stmt::Cached(*stmts_, "PRAGMA foreign_key_check"));
  if (TRY(s.Step()))
    return Fail(Error::Internal(
        fmt::format("metadata: foreign key check: row {} of {} refers to a missing {}", s.Int(1),
                    s.Text(0), s.Text(2))));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Images

Status MetadataStore::PutImage(const ImageRecord& image) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("put image {}", image.id.ToString());
  if (image.id.empty() || image.manifest_digest.empty() || image.target.digest.empty())
    return Fail(Error::InvalidArgument(ctx + ": id, manifest and target digests are required"));
  for (const auto& l : image.layers)
    if (l.diff_id.empty() || l.chain_id.empty() || l.blob.empty())
      return Fail(Error::InvalidArgument(ctx + ": a layer lacks a digest"));

  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  {
    auto s = TRY_CTX(
        Stmt::Cached(*stmts_,
                     "INSERT INTO images (id, manifest_digest, target_media_type, target_digest, "
                     "target_size, created, size, os, architecture, variant, added_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                     "ON CONFLICT (id) DO UPDATE SET manifest_digest = excluded.manifest_digest, "
                     "target_media_type = excluded.target_media_type, "
                     "target_digest = excluded.target_digest, target_size = excluded.target_size, "
                     "created = excluded.created, size = excluded.size, os = excluded.os, "
                     "architecture = excluded.architecture, variant = excluded.variant"),
        ctx);
    s.Bind(1, image.id)
        .Bind(2, image.manifest_digest)
        .Bind(3, image.target.media_type)
        .Bind(4, image.target.digest)
        .Bind(5, image.target.size)
        .Bind(6, image.created)
        .Bind(7, image.size)
        .Bind(8, image.platform.os)
        .Bind(9, image.platform.architecture)
        .Bind(10, image.platform.variant)
        .Bind(11, image.added_at ? image.added_at : NowNanos());
    TRY_CTX(s.Run(), ctx);
  }
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_, "DELETE FROM layers WHERE image_id = ?1"), ctx);
    TRY_CTX(s.Bind(1, image.id).Run(), ctx);
  }
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                  "INSERT INTO layers (image_id, idx, diff_id, chain_id, "
                                  "blob_digest, size, media_type) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                     ctx);
    for (size_t i = 0; i < image.layers.size(); ++i) {
      const auto& l = image.layers[i];
      s.Bind(1, image.id)
          .Bind(2, static_cast<int64_t>(i))
          .Bind(3, l.diff_id)
          .Bind(4, l.chain_id)
          .Bind(5, l.blob)
          .Bind(6, l.size)
          .Bind(7, l.media_type);
      TRY_CTX(s.Run(), ctx);
    }
  }
  {
    std::set<Digest> blobs(image.blobs.begin(), image.blobs.end());
    blobs.insert(image.id);
    blobs.insert(image.manifest_digest);
    blobs.insert(image.target.digest);
    for (const auto& l : image.layers) blobs.insert(l.blob);
    auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                  "INSERT INTO image_blobs (image_id, blob) VALUES (?1, ?2) "
                                  "ON CONFLICT DO NOTHING"),
                     ctx);
    for (const auto& b : blobs) TRY_CTX(s.Bind(1, image.id).Bind(2, b).Run(), ctx);
  }
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                  "INSERT INTO names (name, image_id, kind) VALUES (?1, ?2, ?3) "
                                  "ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, "
                                  "kind = excluded.kind"),
                     ctx);
    for (const auto& n : image.names)
      TRY_CTX(s.Bind(1, n).Bind(2, image.id).Bind(3, NameKind(n)).Run(), ctx);
  }
  return WithContext(tx.Commit(), ctx);
}

Result<ImageRecord> MetadataStore::LoadImage(const Digest& id) {
  ImageRecord r;
  {
    auto s = TRY(Stmt::Cached(*stmts_,
                              "SELECT id, manifest_digest, target_media_type, target_digest, "
                              "target_size, created, size, os, architecture, variant, added_at "
                              "FROM images WHERE id = ?1"));
    s.Bind(1, id);
    if (!TRY(s.Step())) return Fail(ImageNotFound(id));
    r.id = TRY(s.DigestAt(0));
    r.manifest_digest = TRY(s.DigestAt(1));
    r.target.media_type = s.Text(2);
    r.target.digest = TRY(s.DigestAt(3));
    r.target.size = s.Int(4);
    r.created = s.Text(5);
    r.size = s.Int(6);
    r.platform.os = s.Text(7);
    r.platform.architecture = s.Text(8);
    r.platform.variant = s.Text(9);
    r.added_at = s.Int(10);
  }
  {
    auto s = TRY(Stmt::Cached(*stmts_,
                              "SELECT diff_id, chain_id, blob_digest, size, media_type "
                              "FROM layers WHERE image_id = ?1 ORDER BY idx"));
    s.Bind(1, id);
    while (TRY(s.Step())) {
      LayerRecord l;
      l.diff_id = TRY(s.DigestAt(0));
      l.chain_id = TRY(s.DigestAt(1));
      l.blob = TRY(s.DigestAt(2));
      l.size = s.Int(3);
      l.media_type = s.Text(4);
      r.layers.push_back(std::move(l));
    }
  }
  {
    auto s = TRY(Stmt::Cached(*stmts_, "SELECT name FROM names WHERE image_id = ?1 ORDER BY name"));
    s.Bind(1, id);
    while (TRY(s.Step())) r.names.push_back(s.Text(0));
  }
  {
    auto s = TRY(
        Stmt::Cached(*stmts_, "SELECT blob FROM image_blobs WHERE image_id = ?1 ORDER BY blob"));
    s.Bind(1, id);
    while (TRY(s.Step())) r.blobs.push_back(TRY(s.DigestAt(0)));
  }
  return r;
}

Result<std::optional<Digest>> MetadataStore::LookupName(const std::string& name) {
  auto s = TRY(Stmt::Cached(*stmts_, "SELECT image_id FROM names WHERE name = ?1"));
  s.Bind(1, name);
  if (!TRY(s.Step())) return std::optional<Digest>();
  return std::optional<Digest>(TRY(s.DigestAt(0)));
}

Result<ImageRecord> MetadataStore::GetImage(const Digest& id) {
  std::lock_guard lock(mu_);
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
  auto r = TRY(LoadImage(id));
  TRY(tx.Commit());
  return r;
}

Result<ImageRecord> MetadataStore::ResolveName(const std::string& name) {
  std::lock_guard lock(mu_);
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
  auto id = TRY(LookupName(name));
  if (!id) {
    auto parsed = Digest::Parse(name);
    if (!parsed) return Fail(Error::NotFound(fmt::format("image {} not found", name)));
    id = *parsed;
  }
  auto r = LoadImage(*id);
  if (!r && r.error().code() == ErrorCode::kNotFound)
    return Fail(Error::NotFound(fmt::format("image {} not found", name)));
  TRY(tx.Commit());
  return r;
}

Result<ImageRecord> MetadataStore::ResolveIdPrefix(std::string_view prefix) {
  std::string_view hex = prefix;
  if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
  if (hex.empty() || hex.size() > 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      }))
    return Fail(Error::InvalidArgument(fmt::format("invalid image ID prefix \"{}\"", prefix)));
  std::lock_guard lock(mu_);
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
  // A range instead of LIKE: no wildcard escaping, and it uses the primary key index. Every hex
  // digit sorts below 'g', so [lo, lo + "g") holds exactly the IDs that start with lo.
  std::string lo = "sha256:" + std::string(hex);
  auto s = TRY(Stmt::Cached(*stmts_, "SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 2"));
  s.Bind(1, lo).Bind(2, lo + "g");
  std::vector<Digest> ids;
  while (TRY(s.Step())) ids.push_back(TRY(s.DigestAt(0)));
  if (ids.empty()) return Fail(Error::NotFound(fmt::format("image {} not found", prefix)));
  if (ids.size() > 1)
    return Fail(Error::Conflict(fmt::format("image ID prefix {} is ambiguous", prefix)));
  auto r = TRY(LoadImage(ids[0]));
  TRY(tx.Commit());
  return r;
}

Status MetadataStore::Tag(const std::string& name, const Digest& id) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("tag {} as {}", id.ToString(), name);
  if (name.empty()) return Fail(Error::InvalidArgument(ctx + ": empty name"));
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_, "SELECT 1 FROM images WHERE id = ?1"), ctx);
    s.Bind(1, id);
    if (!TRY_CTX(s.Step(), ctx)) return Fail(ImageNotFound(id).Context(ctx));
  }
  auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                "INSERT INTO names (name, image_id, kind) VALUES (?1, ?2, ?3) "
                                "ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, "
                                "kind = excluded.kind"),
                   ctx);
  TRY_CTX(s.Bind(1, name).Bind(2, id).Bind(3, NameKind(name)).Run(), ctx);
  return WithContext(tx.Commit(), ctx);
}

Result<bool> MetadataStore::Untag(const std::string& name) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("untag {}", name);
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  auto id = TRY_CTX(LookupName(name), ctx);
  if (!id) return Fail(Error::NotFound(fmt::format("{}: name not found", ctx)));
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_, "DELETE FROM names WHERE name = ?1"), ctx);
    TRY_CTX(s.Bind(1, name).Run(), ctx);
  }
  auto s = TRY_CTX(Stmt::Cached(*stmts_, "SELECT count(*) FROM names WHERE image_id = ?1"), ctx);
  s.Bind(1, *id);
  TRY_CTX(s.Step(), ctx);
  bool has_names = s.Int(0) > 0;
  TRY_CTX(tx.Commit(), ctx);
  return has_names;
}

Result<std::vector<ImageRecord>> MetadataStore::ListImages() {
  std::lock_guard lock(mu_);
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
  std::vector<Digest> ids;
  {
    auto s = TRY(Stmt::Cached(*stmts_, "SELECT id FROM images ORDER BY added_at DESC, id"));
    while (TRY(s.Step())) ids.push_back(TRY(s.DigestAt(0)));
  }
  std::vector<ImageRecord> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(TRY(LoadImage(id)));
  TRY(tx.Commit());
  return out;
}

Status MetadataStore::DeleteImage(const Digest& id) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("delete image {}", id.ToString());
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  auto s = TRY_CTX(Stmt::Cached(*stmts_, "DELETE FROM images WHERE id = ?1"), ctx);
  TRY_CTX(s.Bind(1, id).Run(), ctx);
  if (s.Changes() == 0) return Fail(ImageNotFound(id));
  return WithContext(tx.Commit(), ctx);
}

Result<std::vector<Digest>> MetadataStore::DanglingImages() {
  std::lock_guard lock(mu_);
  auto s = TRY(Stmt::Cached(*stmts_,
                            "SELECT id FROM images i WHERE NOT EXISTS "
                            "(SELECT 1 FROM names n WHERE n.image_id = i.id AND n.kind = 'tag') "
                            "ORDER BY id"));
  std::vector<Digest> out;
  while (TRY(s.Step())) out.push_back(TRY(s.DigestAt(0)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Blob references and leases

Result<std::vector<Digest>> MetadataStore::UnreferencedBlobs(const std::vector<Digest>& all_blobs) {
  std::lock_guard lock(mu_);
  std::set<std::string> used;
  {
    auto s = TRY(Stmt::Cached(*stmts_,
                              "SELECT blob FROM image_blobs UNION "
                              "SELECT b.blob FROM lease_blobs b JOIN leases l ON l.id = b.lease_id "
                              "WHERE l.expires_at = 0 OR l.expires_at > ?1"));
    s.Bind(1, NowSeconds());
    while (TRY(s.Step())) used.insert(s.Text(0));
  }
  std::vector<Digest> out;
  for (const auto& d : all_blobs)
    if (!used.count(d.ToString())) out.push_back(d);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status MetadataStore::CreateLease(const std::string& id, std::chrono::seconds ttl) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("create lease {}", id);
  int64_t now = NowSeconds();
  auto s = TRY_CTX(
      Stmt::Cached(*stmts_, "INSERT INTO leases (id, created_at, expires_at) VALUES (?1, ?2, ?3)"),
      ctx);
  return WithContext(
      s.Bind(1, id).Bind(2, now).Bind(3, ttl.count() > 0 ? now + ttl.count() : int64_t{0}).Run(),
      ctx);
}

Status MetadataStore::AddLeaseBlob(const std::string& lease, const Digest& blob) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("add {} to lease {}", blob.ToString(), lease);
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_, "SELECT 1 FROM leases WHERE id = ?1"), ctx);
    s.Bind(1, lease);
    if (!TRY_CTX(s.Step(), ctx))
      return Fail(Error::NotFound(fmt::format("{}: lease not found", ctx)));
  }
  auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                "INSERT INTO lease_blobs (lease_id, blob) VALUES (?1, ?2) "
                                "ON CONFLICT DO NOTHING"),
                   ctx);
  TRY_CTX(s.Bind(1, lease).Bind(2, blob).Run(), ctx);
  return WithContext(tx.Commit(), ctx);
}

Status MetadataStore::DeleteLease(const std::string& id) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("delete lease {}", id);
  auto s = TRY_CTX(Stmt::Cached(*stmts_, "DELETE FROM leases WHERE id = ?1"), ctx);
  TRY_CTX(s.Bind(1, id).Run(), ctx);
  if (s.Changes() == 0) return Fail(Error::NotFound(fmt::format("{}: lease not found", ctx)));
  return {};
}

Result<int> MetadataStore::DeleteExpiredLeases() {
  std::lock_guard lock(mu_);
  auto s =
      TRY(Stmt::Cached(*stmts_, "DELETE FROM leases WHERE expires_at != 0 AND expires_at <= ?1"));
  TRY_CTX(s.Bind(1, NowSeconds()).Run(), "delete expired leases");
  return s.Changes();
}

// ---------------------------------------------------------------------------------------------
// Snapshots

Status MetadataStore::PutSnapshot(const SnapshotRecord& snap, bool durable) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("put snapshot {}", snap.chain_id.ToString());
  if (snap.chain_id.empty() || snap.key.empty())
    return Fail(Error::InvalidArgument(ctx + ": chain ID and key are required"));
  if (snap.refcount < 0) return Fail(Error::InvalidArgument(ctx + ": negative refcount"));
  RelaxedSync relaxed(*stmts_, !durable);
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  if (snap.parent) {
    auto s = TRY_CTX(Stmt::Cached(*stmts_, "SELECT 1 FROM snapshots WHERE chain_id = ?1"), ctx);
    s.Bind(1, *snap.parent);
    if (!TRY_CTX(s.Step(), ctx))
      return Fail(SnapshotNotFound(*snap.parent).Context(ctx + ": parent"));
  }
  auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                "INSERT INTO snapshots (chain_id, key, parent, size, refcount) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)"),
                   ctx);
  s.Bind(1, snap.chain_id).Bind(2, snap.key).Bind(4, snap.size).Bind(5, snap.refcount);
  if (snap.parent)
    s.Bind(3, *snap.parent);
  else
    s.BindNull(3);
  TRY_CTX(s.Run(), ctx);
  return WithContext(tx.Commit(), ctx);
}

Result<SnapshotRecord> MetadataStore::GetSnapshot(const Digest& chain_id) {
  std::lock_guard lock(mu_);
  auto s = TRY(Stmt::Cached(*stmts_, kSelectSnapshot));
  s.Bind(1, chain_id);
  if (!TRY(s.Step())) return Fail(SnapshotNotFound(chain_id));
  return ReadSnapshotRow(s);
}

Result<std::vector<SnapshotRecord>> MetadataStore::ListSnapshots() {
  std::lock_guard lock(mu_);
  auto s = TRY(Stmt::Cached(*stmts_, kSelectSnapshots));
  std::vector<SnapshotRecord> out;
  while (TRY(s.Step())) out.push_back(TRY(ReadSnapshotRow(s)));
  return out;
}

Result<int64_t> MetadataStore::IncSnapshotRef(const Digest& chain_id) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("reference snapshot {}", chain_id.ToString());
  auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                "UPDATE snapshots SET refcount = refcount + 1 "
                                "WHERE chain_id = ?1 RETURNING refcount"),
                   ctx);
  s.Bind(1, chain_id);
  if (!TRY_CTX(s.Step(), ctx)) return Fail(SnapshotNotFound(chain_id));
  int64_t n = s.Int(0);
  TRY_CTX(s.Run(), ctx);
  return n;
}

Result<int64_t> MetadataStore::DecSnapshotRef(const Digest& chain_id) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("release snapshot {}", chain_id.ToString());
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                "UPDATE snapshots SET refcount = refcount - 1 "
                                "WHERE chain_id = ?1 AND refcount > 0 RETURNING refcount"),
                   ctx);
  s.Bind(1, chain_id);
  if (!TRY_CTX(s.Step(), ctx)) {
    auto e = Stmt::Cached(*stmts_, "SELECT 1 FROM snapshots WHERE chain_id = ?1");
    if (!e) return Fail(std::move(e).error().Context(ctx));
    e->Bind(1, chain_id);
    if (!TRY_CTX(e->Step(), ctx)) return Fail(SnapshotNotFound(chain_id));
    return Fail(Error::InvalidArgument(ctx + ": it has no references"));
  }
  int64_t n = s.Int(0);
  TRY_CTX(s.Run(), ctx);
  TRY_CTX(tx.Commit(), ctx);
  return n;
}

Status MetadataStore::DeleteSnapshot(const Digest& chain_id, bool release_one, bool durable) {
  std::lock_guard lock(mu_);
  auto ctx = fmt::format("delete snapshot {}", chain_id.ToString());
  RelaxedSync relaxed(*stmts_, !durable);
  auto tx = TRY_CTX(Tx::Begin(*stmts_, Tx::kWrite), ctx);
  if (release_one) {
    auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                  "UPDATE snapshots SET refcount = refcount - 1 "
                                  "WHERE chain_id = ?1 AND refcount > 0"),
                     ctx);
    TRY_CTX(s.Bind(1, chain_id).Run(), ctx);
  }
  {
    auto s = TRY_CTX(Stmt::Cached(*stmts_,
                                  "SELECT refcount, "
                                  "(SELECT count(*) FROM snapshots c WHERE c.parent = s.chain_id), "
                                  "(SELECT count(*) FROM layers l WHERE l.chain_id = s.chain_id) "
                                  "FROM snapshots s WHERE chain_id = ?1"),
                     ctx);
    s.Bind(1, chain_id);
    if (!TRY_CTX(s.Step(), ctx)) return Fail(SnapshotNotFound(chain_id));
    if (s.Int(0) > 0 || s.Int(1) > 0 || s.Int(2) > 0)
      return Fail(
          Error::Conflict(fmt::format("{}: in use ({} references, {} children, {} image layers)",
                                      ctx, s.Int(0), s.Int(1), s.Int(2))));
  }
  auto s = TRY_CTX(Stmt::Cached(*stmts_, "DELETE FROM snapshots WHERE chain_id = ?1"), ctx);
  TRY_CTX(s.Bind(1, chain_id).Run(), ctx);
  return WithContext(tx.Commit(), ctx);
}

Result<std::vector<SnapshotRecord>> MetadataStore::UnreferencedSnapshots() {
  std::lock_guard lock(mu_);
  auto tx = TRY(Tx::Begin(*stmts_, Tx::kRead));
  std::map<std::string, SnapshotRecord> snaps;
  {
    auto s = TRY(Stmt::Cached(*stmts_, kSelectAllSnapshots));
    while (TRY(s.Step())) {
      auto r = TRY(ReadSnapshotRow(s));
      snaps.emplace(r.chain_id.ToString(), std::move(r));
    }
  }
  std::set<std::string> in_layers;
  {
    auto s = TRY(Stmt::Cached(*stmts_, "SELECT DISTINCT chain_id FROM layers"));
    while (TRY(s.Step())) in_layers.insert(s.Text(0));
  }
  TRY(tx.Commit());

  std::map<std::string, int> children;
  for (const auto& [id, r] : snaps)
    if (r.parent) ++children[r.parent->ToString()];
  auto free = [&](const std::string& id) {
    const auto& r = snaps.at(id);
    return r.refcount == 0 && children[id] == 0 && !in_layers.count(id);
  };
  // Peel leaves: a parent becomes free once its last child is on the list.
  std::vector<std::string> queue;
  for (const auto& [id, r] : snaps)
    if (free(id)) queue.push_back(id);
  std::vector<SnapshotRecord> out;
  for (size_t i = 0; i < queue.size(); ++i) {
    const auto& r = snaps.at(queue[i]);
    out.push_back(r);
    if (r.parent && snaps.count(r.parent->ToString())) {
      std::string p = r.parent->ToString();
      if (--children[p] == 0 && free(p)) queue.push_back(p);
    }
  }
  return out;
}

}  // namespace berth::image
