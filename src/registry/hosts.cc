// RegistryHosts: settings lookup and endpoint lists for reads and pushes.
#include "registry/hosts.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>

#include "base/strings.h"
#include "oci/reference.h"

namespace berth::registry {
namespace {

// "host:port" / "[v6]:port" / "host" -> host without brackets and port.
std::string_view HostPart(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t end = authority.find(']');
    return end == std::string_view::npos ? authority.substr(1) : authority.substr(1, end - 1);
  }
  // A bare IPv6 address has several colons and no port.
  if (std::count(authority.begin(), authority.end(), ':') > 1) return authority;
  size_t colon = authority.find(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

bool FileExists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// "https://mirror.example/" -> {"https://mirror.example", "mirror.example"}.
std::pair<std::string, std::string> SplitBaseUrl(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  std::string_view rest = url;
  size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) rest = rest.substr(scheme + 3);
  size_t slash = rest.find('/');
  return {std::string(url), std::string(rest.substr(0, slash))};
}

}  // namespace

bool IsLoopbackHost(std::string_view authority) {
  std::string host(HostPart(authority));
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

RegistryHosts::RegistryHosts(Options options) : options_(std::move(options)) {}

void RegistryHosts::Set(std::string domain, HostConfig config) {
  hosts_[std::move(domain)] = std::move(config);
}

void RegistryHosts::AddCerts(std::string_view host, HostConfig& config) const {
  if (options_.certs_dir.empty()) return;
  std::string dir = options_.certs_dir + "/" + std::string(host) + "/";
  if (config.ca_file.empty() && FileExists(dir + "ca.crt")) config.ca_file = dir + "ca.crt";
  if (config.client_cert.empty() && FileExists(dir + "client.cert") &&
      FileExists(dir + "client.key")) {
    config.client_cert = dir + "client.cert";
    config.client_key = dir + "client.key";
  }
}

HostConfig RegistryHosts::Lookup(std::string_view domain) const {
  HostConfig config;
  if (auto it = hosts_.find(domain); it != hosts_.end()) {
    config = it->second;
  } else {
    config.insecure =
        IsLoopbackHost(domain) ||
        std::find(options_.insecure_registries.begin(), options_.insecure_registries.end(),
                  domain) != options_.insecure_registries.end();
    if (domain == oci::kDefaultDomain) config.mirrors = options_.registry_mirrors;
  }
  AddCerts(domain, config);
  return config;
}

Endpoint RegistryHosts::Upstream(std::string_view domain) const {
  Endpoint ep;
  ep.domain = std::string(domain);
  ep.host = oci::RegistryHost(ep.domain);
  ep.config = Lookup(domain);
  // certs.d may name either the domain or the host actually contacted.
  if (ep.host != domain) AddCerts(ep.host, ep.config);
  ep.base_url = (ep.config.insecure ? "http://" : "https://") + ep.host;
  return ep;
}

std::vector<Endpoint> RegistryHosts::ReadEndpoints(std::string_view domain) const {
  std::vector<Endpoint> out;
  Endpoint upstream = Upstream(domain);
  for (const std::string& mirror : upstream.config.mirrors) {
    auto [base, host] = SplitBaseUrl(mirror);
    if (host.empty()) continue;
    Endpoint ep;
    ep.host = host;
    ep.domain = host;
    ep.mirror = true;
    ep.config = Lookup(host);
    ep.config.mirrors.clear();
    ep.base_url = base.find("://") == std::string::npos
                      ? (ep.config.insecure ? "http://" : "https://") + base
                      : base;
    out.push_back(std::move(ep));
  }
  out.push_back(std::move(upstream));
  return out;
}

}  // namespace berth::registry
