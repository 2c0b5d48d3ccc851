// libcurl, loaded with dlopen the first time berth talks to a registry rather than linked.
// Why: libcurl's own dependencies (librtmp, libldap, GnuTLS and p11-kit with their load-time
// initialisers, Kerberos, libssh2, nghttp2, ...) cost an idle berthd about 4 MB of resident
// memory while most daemons spend most of their life without pulling anything. Only the calls
// berth makes are resolved; the types and constants still come from <curl/curl.h>.
#pragma once

#include <curl/curl.h>

#include "base/result.h"

namespace berth::registry {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL* handle);
  void (*easy_reset)(CURL* handle);
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* text);
  void (*slist_free_all)(curl_slist* list);
  CURLU* (*url)();
  void (*url_cleanup)(CURLU* handle);
  CURLUcode (*url_set)(CURLU* handle, CURLUPart part, const char* content, unsigned int flags);
  CURLUcode (*url_get)(const CURLU* handle, CURLUPart part, char** content, unsigned int flags);
  void (*free)(void* p);
};

// The table, loading libcurl.so.4 and running curl_global_init once (thread-safe). Fails with
// kUnavailable ("libcurl is not installed: ...") when the library or a symbol is missing; the
// answer is remembered.
base::Result<const CurlApi*> Curl();

}  // namespace berth::registry
