// ContainerFilter: dockerd's container list filters (daemon/list.go) over our records.
#include "daemon/container_filter.h"

#include <fmt/format.h>

#include <regex>

#include "base/strings.h"

namespace berth::daemon {

using base::Error;
using base::Fail;

namespace {

// filters.Match: any value, as an unanchored regular expression, matches `source`.
bool MatchAnyRegex(const std::set<std::string>& patterns, const std::string& source) {
  for (const std::string& p : patterns) {
    try {
      if (std::regex_search(source, std::regex(p))) return true;
    } catch (const std::regex_error&) {
      if (source.find(p) != std::string::npos) return true;  // not a regex: a substring
    }
  }
  return false;
}

}  // namespace

std::string StatusWord(const ContainerState& s) { return s.paused ? "paused" : s.status; }

base::Result<ContainerFilter> ContainerFilter::Make(
    const Filters& filters,
    const std::function<base::Result<ContainerRecord>(const std::string&)>& find) {
  TRY(filters.Validate({"id", "name", "status", "label", "exited", "ancestor", "before", "since",
                        "network", "volume", "health", "isolation", "is-task", "publish",
                        "expose"}));
  ContainerFilter f;
  f.filters_ = filters;
  for (const std::string& s : filters.Get("status")) {
    static const std::set<std::string> kStates = {"created", "restarting", "running", "removing",
                                                  "paused",  "exited",     "dead"};
    if (!kStates.count(s))
      return Fail(Error::InvalidArgument(
          fmt::format("invalid filter 'status={}': Unrecognised status filter value", s)));
  }
  for (const std::string& e : filters.Get("exited")) {
    if (!base::ParseInt(e))
      return Fail(Error::InvalidArgument(fmt::format("invalid filter 'exited={}'", e)));
  }
  f.implies_all_ = filters.Has("status") || filters.Has("exited");
  for (const char* key : {"before", "since"}) {
    for (const std::string& ref : filters.Get(key)) {
      ContainerRecord other = TRY(find(ref));
      (std::string(key) == "before" ? f.before_created_ : f.since_created_) = other.created;
    }
  }
  if (!f.before_created_.empty() || !f.since_created_.empty()) f.implies_all_ = true;
  return f;
}

bool ContainerFilter::Matches(const ContainerRecord& rec, const ContainerFacts& facts) const {
  const Filters& f = filters_;
  if (f.Has("id") && !MatchAnyRegex(f.Get("id"), rec.id)) return false;
  if (f.Has("name") && !MatchAnyRegex(f.Get("name"), "/" + rec.name)) return false;
  if (f.Has("status") && !f.Get("status").count(StatusWord(rec.state))) return false;
  if (f.Has("exited")) {
    if (rec.state.status != "exited") return false;
    bool any = false;
    for (const std::string& e : f.Get("exited"))
      any = any || base::ParseInt(e).value_or(-1) == rec.state.exit_code;
    if (!any) return false;
  }
  for (const std::string& l : f.Get("label")) {  // every label filter must hold
    auto eq = l.find('=');
    auto it = facts.labels.find(l.substr(0, eq));
    if (it == facts.labels.end()) return false;
    if (eq != std::string::npos && it->second != l.substr(eq + 1)) return false;
  }
  if (f.Has("ancestor")) {
    bool any = false;
    for (const std::string& a : f.Get("ancestor")) {
      any = any || a == rec.image ||
            (a.find(':') == std::string::npos && a + ":latest" == rec.image) || rec.image_id == a ||
            rec.image_id == "sha256:" + a ||
            (a.size() >= 4 && base::StartsWith(rec.image_id, "sha256:" + a));
    }
    if (!any) return false;
  }
  if (f.Has("network") && !f.Get("network").count(facts.network_mode)) {
    // The default network is reported as "bridge" by dockerd; ours is a private netns.
    if (!(facts.network_mode == "default" && f.Get("network").count("bridge"))) return false;
  }
  if (!before_created_.empty() && !(rec.created < before_created_)) return false;
  if (!since_created_.empty() && !(rec.created > since_created_)) return false;
  return true;
}

}  // namespace berth::daemon
