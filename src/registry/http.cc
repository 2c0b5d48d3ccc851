// HttpSession over a libcurl easy handle.
#include "registry/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "base/strings.h"
#include "registry/curl_api.h"

namespace berth::registry {
namespace {

using base::Error;
using base::Fail;

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  base::Status callback_error;
  bool failed_in_callback = false;
  bool seen_status = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (base::StartsWith(line, "HTTP/")) {
    // A new answer (after a redirect or a 100 Continue): forget the previous one's headers.
    t->response->headers.clear();
    auto parts = base::SplitNonEmpty(base::Trim(line), ' ');
    if (parts.size() >= 2) {
      t->response->status = int(base::ParseInt(parts[1]).value_or(0));
    }
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(base::Trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  t->response->headers.emplace_back(std::move(name),
                                    std::string(base::Trim(line.substr(colon + 1))));
  return size * n;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  int status = t->response->status;
  if (t->request->on_data && status >= 200 && status < 300) {
    base::Status s = t->request->on_data(*t->response, std::string_view(data, len));
    if (!s) {
      t->callback_error = std::move(s);
      t->failed_in_callback = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    return len;
  }
  std::string& body = t->response->body;
  if (body.size() < kMaxBufferedBody)
    body.append(data, std::min(len, kMaxBufferedBody - body.size()));
  return len;
}

struct Upload {
  Transfer* transfer;
  int64_t offset = 0;
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const HttpRequest& req = *u->transfer->request;
  size_t want = size * n;
  int64_t left = req.body_size - u->offset;
  if (left <= 0) return 0;
  want = std::min<size_t>(want, size_t(left));
  base::Result<size_t> got = req.body_reader(u->offset, buf, want);
  if (!got) {
    u->transfer->callback_error = base::Fail(std::move(got).error());
    u->transfer->failed_in_callback = true;
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0) {
    u->transfer->callback_error =
        Fail(Error::Internal("request body ended early at byte " + std::to_string(u->offset)));
    u->transfer->failed_in_callback = true;
    return CURL_READFUNC_ABORT;
  }
  u->offset += int64_t(*got);
  return *got;
}

// curl rewinds a streamed body when it must resend it (after a redirect or an auth round).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* u = static_cast<Upload*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  u->offset = offset;
  return CURL_SEEKFUNC_OK;
}

base::ErrorCode ClassifyCurlError(CURLcode code) {
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_TOO_MANY_REDIRECTS:
      return base::ErrorCode::kInvalidArgument;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return base::ErrorCode::kPermissionDenied;
    default:
      return base::ErrorCode::kUnavailable;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::AllHeaders(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

HttpSession::HttpSession(std::string user_agent) : user_agent_(std::move(user_agent)) {
  if (auto api = Curl()) curl_ = (*api)->easy_init();
}

HttpSession::~HttpSession() {
  if (curl_ != nullptr) (*Curl())->easy_cleanup(static_cast<CURL*>(curl_));
}

base::Result<HttpResponse> HttpSession::Do(const HttpRequest& req) {
  auto loaded = Curl();
  if (!loaded) return Fail(loaded.error());
  const CurlApi& api = **loaded;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return Fail(Error::Internal("curl_easy_init failed"));
  // Reset keeps live connections and the DNS cache, drops every option of the last request.
  api.easy_reset(c);
  HttpResponse resp;
  Transfer t{&req, &resp, {}, false, false};
  Upload upload{&t, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};

  api.easy_setopt(c, CURLOPT_URL, req.url.c_str());
  api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  api.easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req.stall_timeout_s);
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  // Registries compress nothing worth it, and a blob's bytes must arrive as stored.
  api.easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  if (req.follow_redirects) {
    api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    api.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    // Blob redirects go to storage hosts (S3, CDNs) that must not see our registry token and
    // reject requests carrying one; libcurl drops a custom Authorization header when the host
    // (or port or scheme) changes unless this is set.
    api.easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  }
  if (!req.ca_file.empty()) {
    // CAINFO replaces the bundle; CAPATH keeps the system store trusted as well.
    api.easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
    api.easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (!req.client_cert.empty()) {
    api.easy_setopt(c, CURLOPT_SSLCERT, req.client_cert.c_str());
    api.easy_setopt(c, CURLOPT_SSLKEY, req.client_key.c_str());
  }

  curl_slist* headers = nullptr;
  for (const std::string& h : req.headers) headers = api.slist_append(headers, h.c_str());
  if (req.method == "HEAD") {
    api.easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.body_reader) {
    api.easy_setopt(c, CURLOPT_UPLOAD, 1L);
    api.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(req.body_size));
    api.easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    api.easy_setopt(c, CURLOPT_READDATA, &upload);
    api.easy_setopt(c, CURLOPT_SEEKFUNCTION, OnSeek);
    api.easy_setopt(c, CURLOPT_SEEKDATA, &upload);
    // A 100-continue round trip buys nothing against a registry and stalls some proxies.
    headers = api.slist_append(headers, "Expect:");
    if (req.method != "PUT") api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.send_body || req.method == "POST" || req.method == "PUT" ||
             req.method == "PATCH") {
    api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
    api.easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    headers = api.slist_append(headers, "Expect:");
    if (req.method != "POST") api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  api.easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = api.easy_perform(c);
  api.slist_free_all(headers);
  char* effective = nullptr;
  if (api.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    resp.effective_url = effective;
  }
  if (t.failed_in_callback) return Fail(std::move(t.callback_error).error());
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? errbuf : api.easy_strerror(rc);
    return Fail(Error(ClassifyCurlError(rc), req.method + " " + req.url + ": " + detail));
  }
  long code = 0;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  resp.status = int(code);
  return resp;
}

std::string UrlEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += char(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

base::Result<std::string> ResolveUrl(const std::string& base, const std::string& location) {
  auto loaded = Curl();
  if (!loaded) return Fail(loaded.error());
  const CurlApi& api = **loaded;
  CURLU* u = api.url();
  if (u == nullptr) return Fail(Error::Internal("curl_url failed"));
  std::string out;
  CURLUcode rc = api.url_set(u, CURLUPART_URL, base.c_str(), 0);
  if (rc == CURLUE_OK) rc = api.url_set(u, CURLUPART_URL, location.c_str(), 0);
  char* full = nullptr;
  if (rc == CURLUE_OK) rc = api.url_get(u, CURLUPART_URL, &full, 0);
  if (rc == CURLUE_OK) {
    out = full;
    api.free(full);
  }
  api.url_cleanup(u);
  if (rc != CURLUE_OK) {
    return Fail(Error::InvalidArgument("bad Location \"" + location + "\" from " + base));
  }
  return out;
}

std::string UrlAuthority(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  url = url.substr(scheme + 3);
  return std::string(url.substr(0, url.find_first_of("/?#")));
}

}  // namespace berth::registry
