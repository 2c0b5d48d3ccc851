// Per-registry connection settings: plain HTTP for insecure registries, mirrors tried before the
// real host, and extra TLS trust from a certs.d directory laid out like Docker's
// (<certs.d>/<host[:port]>/ca.crt, client.cert, client.key).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

struct HostConfig {
  // Speak plain HTTP. Loopback hosts (127.0.0.0/8, ::1, localhost) are insecure by default.
  bool insecure = false;
  // Base URLs ("https://mirror.example", "http://127.0.0.1:5001") tried in order before the host
  // itself for reads (resolve, manifests, blobs). Pushes never go to mirrors.
  std::vector<std::string> mirrors;
  // PEM files; empty when absent. ca_file is trusted in addition to the system CAs.
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
};

// One place to send requests for a registry: a mirror or the registry itself.
struct Endpoint {
  std::string base_url;  // "https://registry-1.docker.io", no trailing slash
  std::string host;      // authority of base_url ("registry-1.docker.io", "127.0.0.1:5000")
  // Key for credentials and settings: the reference domain ("docker.io") for the registry
  // itself, the mirror's authority for a mirror.
  std::string domain;
  bool mirror = false;
  HostConfig config;  // TLS settings of this endpoint's host
};

// True for localhost, 127.0.0.0/8 and ::1, with or without a port ("[::1]:5000").
bool IsLoopbackHost(std::string_view authority);

// The registry settings of one daemon. Immutable after setup; safe to share between threads
// once configured.
class RegistryHosts {
 public:
  struct Options {
    std::string certs_dir;                         // "/etc/berth/certs.d"; empty: none
    std::vector<std::string> insecure_registries;  // domains ("myreg:5000"), exact match
    std::vector<std::string> registry_mirrors;     // mirrors of docker.io (daemon.json's key)
  };

  RegistryHosts() = default;
  explicit RegistryHosts(Options options);

  // Replaces the settings of one domain ("docker.io", "localhost:5000"). ca_file and client
  // certificates left empty are still filled in from certs_dir by Lookup.
  void Set(std::string domain, HostConfig config);

  // Settings for a domain or mirror authority: explicit ones, else the defaults above.
  HostConfig Lookup(std::string_view domain) const;

  // Where to send read requests for a reference domain, in order: its mirrors, then the
  // registry itself (oci::RegistryHost maps "docker.io" to "registry-1.docker.io").
  std::vector<Endpoint> ReadEndpoints(std::string_view domain) const;
  // The registry itself (pushes, login, ping).
  Endpoint Upstream(std::string_view domain) const;

 private:
  void AddCerts(std::string_view host, HostConfig& config) const;
  Options options_;
  std::map<std::string, HostConfig, std::less<>> hosts_;
};

}  // namespace berth::registry
