#include "registry/curl_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace berth::registry {
namespace {

struct Loaded {
  CurlApi api{};
  std::string error;  // non-empty when loading failed
};

template <typename Fn>
bool Bind(void* lib, const char* name, Fn& slot, std::string& error) {
  void* sym = dlsym(lib, name);
  if (sym == nullptr) {
    if (error.empty()) error = std::string("libcurl lacks ") + name;
    return false;
  }
  slot = reinterpret_cast<Fn>(sym);
  return true;
}

Loaded Load() {
  Loaded out;
  // Never dlclose()d: handles and callbacks live as long as the process.
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    out.error = std::string("libcurl is not installed: ") + (why ? why : "libcurl.so.4");
    return out;
  }
  CurlApi& a = out.api;
  std::string& e = out.error;
  bool ok = Bind(lib, "curl_global_init", a.global_init, e) &
            Bind(lib, "curl_easy_init", a.easy_init, e) &
            Bind(lib, "curl_easy_cleanup", a.easy_cleanup, e) &
            Bind(lib, "curl_easy_reset", a.easy_reset, e) &
            Bind(lib, "curl_easy_setopt", a.easy_setopt, e) &
            Bind(lib, "curl_easy_perform", a.easy_perform, e) &
            Bind(lib, "curl_easy_getinfo", a.easy_getinfo, e) &
            Bind(lib, "curl_easy_strerror", a.easy_strerror, e) &
            Bind(lib, "curl_slist_append", a.slist_append, e) &
            Bind(lib, "curl_slist_free_all", a.slist_free_all, e) &
            Bind(lib, "curl_url", a.url, e) & Bind(lib, "curl_url_cleanup", a.url_cleanup, e) &
            Bind(lib, "curl_url_set", a.url_set, e) & Bind(lib, "curl_url_get", a.url_get, e) &
            Bind(lib, "curl_free", a.free, e);
  if (ok && a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) e = "curl_global_init failed";
  return out;
}

}  // namespace

base::Result<const CurlApi*> Curl() {
  static Loaded* loaded = [] { return new Loaded(Load()); }();  // thread-safe static init
  if (!loaded->error.empty()) return base::Fail(base::Error::Unavailable(loaded->error));
  return &loaded->api;
}

}  // namespace berth::registry
