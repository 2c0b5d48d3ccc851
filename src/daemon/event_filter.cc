// See event_filter.h; the matching follows moby's daemon/events/filter.go.
#include "daemon/event_filter.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace berth::daemon {
namespace {

// filters.ExactMatch: no values = match; else the source is one of them.
bool Exact(const Filters& f, std::string_view key, const std::string& source) {
  const auto& values = f.Get(key);
  return values.empty() || values.count(source) > 0;
}

// filters.FuzzyMatch: exact, or one of the values is a prefix of the source.
bool Fuzzy(const Filters& f, std::string_view key, const std::string& source) {
  const auto& values = f.Get(key);
  if (values.empty() || values.count(source)) return true;
  for (const std::string& v : values)
    if (base::StartsWith(source, v)) return true;
  return false;
}

bool HasAny(const Filters& f, std::string_view key) { return !f.Get(key).empty(); }

std::string Attribute(const Event& e, const std::string& key) {
  auto it = e.attributes.find(key);
  return it == e.attributes.end() ? "" : it->second;
}

// "busybox:latest" -> "busybox"; digests and registry ports are kept.
std::string StripTag(const std::string& ref) {
  size_t slash = ref.rfind('/');
  size_t colon = ref.rfind(':');
  if (ref.find('@') != std::string::npos) return ref;
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return ref;
  return ref.substr(0, colon);
}

// Fuzzy on the actor's id or its name (dockerd does not look at the event's type here).
bool MatchName(const Filters& f, const Event& e, const std::string& type) {
  if (!HasAny(f, type)) return true;
  return Fuzzy(f, type, e.id) || Fuzzy(f, type, Attribute(e, "name"));
}

}  // namespace

bool EventFilter::Match(const Event& e) const {
  const Filters& f = filters_;
  if (f.empty()) return true;
  // "event" with exec_create/exec_start/health_status matches the actions that carry a
  // command suffix ("exec_start: sh -c ...") by prefix, as dockerd does.
  bool fuzzy_event = false;
  for (const auto* key : {"event", "action"})
    for (const std::string& v : f.Get(key))
      if (v == "exec_create" || v == "exec_start" || v == "health_status") fuzzy_event = true;
  for (const auto* key : {"event", "action"}) {
    if (fuzzy_event ? !Fuzzy(f, key, e.action) : !Exact(f, key, e.action)) return false;
  }
  if (!Exact(f, "type", e.type)) return false;
  if (!Exact(f, "scope", "local")) return false;
  if (HasAny(f, "daemon") && e.type != "daemon") return false;
  if (!MatchName(f, e, "container")) return false;
  if (!MatchName(f, e, "network")) return false;
  if (!MatchName(f, e, "volume")) return false;
  if (HasAny(f, "image")) {
    std::string name = Attribute(e, e.type == "image" ? "name" : "image");
    bool hit = Exact(f, "image", e.id) || Exact(f, "image", name) ||
               Exact(f, "image", StripTag(e.id)) || Exact(f, "image", StripTag(name));
    if (!hit) return false;
  }
  for (const std::string& want : f.Get("label")) {
    size_t eq = want.find('=');
    auto it = e.attributes.find(want.substr(0, eq));
    if (it == e.attributes.end()) return false;
    if (eq != std::string::npos && it->second != want.substr(eq + 1)) return false;
  }
  return true;
}

std::string EventJson(const Event& e) {
  nlohmann::json j = nlohmann::json::object();
  // dockerd fills the deprecated fields for containers and images only.
  if (e.type == "container" || e.type == "image") {
    if (!e.action.empty()) j["status"] = e.action;
    if (!e.id.empty()) j["id"] = e.id;
    if (e.type == "container") {
      if (std::string from = Attribute(e, "image"); !from.empty()) j["from"] = from;
    }
  }
  j["Type"] = e.type;
  j["Action"] = e.action;
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [k, v] : e.attributes) attrs[k] = v;
  j["Actor"] = {{"ID", e.id}, {"Attributes", attrs}};
  j["scope"] = "local";
  j["time"] = e.time_nano / 1000000000;
  j["timeNano"] = e.time_nano;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace berth::daemon
