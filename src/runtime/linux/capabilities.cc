// Capability names (libcap), bounding-set queries and ApplyCapabilities for the container init.
#include "runtime/linux/capabilities.h"

#include <fmt/format.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "base/log.h"
#include "sys/file.h"

namespace berth::runtime::linux {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr int kMaxCap = 63;  // the kernel's sets are 64 bits wide

bool Has(uint64_t mask, int cap) { return (mask >> cap) & 1; }

// "CAP_A" or "CAP_A, CAP_B", for messages.
std::string Names(uint64_t mask) {
  std::string out;
  for (int c = 0; c <= kMaxCap; ++c) {
    if (!Has(mask, c)) continue;
    if (!out.empty()) out += ", ";
    out += CapName(c);
  }
  return out;
}

bool Several(uint64_t mask) { return (mask & (mask - 1)) != 0; }

// The caps of `mask` that are in the bounding set, read through prctl, which works without
// /proc (the init may run before it is mounted, or with the container's procfs, which an image
// without a proc mount could fake).
uint64_t InBoundingSet(uint64_t mask, int last) {
  uint64_t in = 0;
  for (int c = 0; c <= last; ++c)
    if (Has(mask, c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) in |= uint64_t{1} << c;
  return in;
}

struct CapState {
  cap_t caps = nullptr;
  ~CapState() {
    if (caps) cap_free(caps);
  }
};

Result<uint64_t> FlagOf(cap_t caps, cap_flag_t flag, int last) {
  uint64_t mask = 0;
  for (int c = 0; c <= last; ++c) {
    cap_flag_value_t v = CAP_CLEAR;
    if (cap_get_flag(caps, c, flag, &v) != 0) {
      int err = errno;
      return Fail(Error::FromErrno(err, fmt::format("cap_get_flag {}", CapName(c))));
    }
    if (v == CAP_SET) mask |= uint64_t{1} << c;
  }
  return mask;
}

Status SetProc(uint64_t effective, uint64_t permitted, uint64_t inheritable,
               std::string_view what) {
  CapState s;
  s.caps = cap_init();
  if (!s.caps) return Fail(Error::FromErrno(errno, "cap_init"));
  const std::pair<cap_flag_t, uint64_t> sets[] = {
      {CAP_EFFECTIVE, effective}, {CAP_PERMITTED, permitted}, {CAP_INHERITABLE, inheritable}};
  for (const auto& [flag, mask] : sets) {
    for (int c = 0; c <= kMaxCap; ++c) {
      if (!Has(mask, c)) continue;
      cap_value_t v = c;
      if (cap_set_flag(s.caps, flag, 1, &v, CAP_SET) != 0) {
        int err = errno;
        return Fail(Error::FromErrno(err, fmt::format("cap_set_flag {}", CapName(c))));
      }
    }
  }
  if (cap_set_proc(s.caps) != 0) {
    int err = errno;
    return Fail(Error::FromErrno(
        err, fmt::format("capset ({}: effective {:#x}, permitted {:#x}, inheritable {:#x})", what,
                         effective, permitted, inheritable)));
  }
  return {};
}

}  // namespace

Result<int> CapFromName(std::string_view name) {
  std::string lower;
  lower.reserve(name.size() + 4);
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("cap_", 0) != 0) lower.insert(0, "cap_");
  // libcap also parses bare numbers; the spec has names only.
  bool known = lower.size() > 4 && !std::isdigit(static_cast<unsigned char>(lower[4]));
  cap_value_t v = -1;
  if (!known || cap_from_name(lower.c_str(), &v) != 0 || v < 0 || v > kMaxCap)
    return Fail(Error::InvalidArgument(fmt::format("unknown capability \"{}\"", name)));
  return static_cast<int>(v);
}

std::string CapName(int cap) {
  char* n = cap_to_name(cap);
  if (!n) return fmt::format("CAP_{}", cap);
  std::string s = n;
  cap_free(n);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.rfind("CAP_", 0) != 0) s.insert(0, "CAP_");  // libcap names unknown caps by number
  return s;
}

int LastCap() {
  static const int last = [] {
    if (auto text = sys::ReadFile("/proc/sys/kernel/cap_last_cap")) {
      char* end = nullptr;
      long v = std::strtol(text->c_str(), &end, 10);
      if (end != text->c_str() && v >= 0 && v <= kMaxCap) return static_cast<int>(v);
    }
    // PR_CAPBSET_READ fails with EINVAL for caps the kernel does not know.
    for (int c = kMaxCap; c >= 0; --c)
      if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0) return c;
    return CAP_LAST_CAP;
  }();
  return last;
}

Result<uint64_t> BoundingSetOfSelf() {
  std::string status = TRY(sys::ReadFile("/proc/self/status"));
  constexpr std::string_view kKey = "\nCapBnd:";
  size_t pos = status.find(kKey);
  if (pos == std::string::npos)
    return Fail(Error::Internal("/proc/self/status has no CapBnd line"));
  const char* start = status.c_str() + pos + kKey.size();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(start, &end, 16);
  if (end == start || errno != 0)
    return Fail(Error::Internal("/proc/self/status: CapBnd is not a hex number"));
  return static_cast<uint64_t>(v);
}

Result<uint64_t> CapMask(const std::vector<std::string>& names, std::string_view field) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    auto cap = CapFromName(n);
    if (!cap) return Fail(std::move(cap).error().Context(field));
    mask |= uint64_t{1} << *cap;
  }
  return mask;
}

Status PrepareForUidChange() {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl(PR_SET_KEEPCAPS, 1)"));
  return {};
}

Status ApplyCapabilities(const oci::Capabilities& caps) {
  const uint64_t bounding = TRY(CapMask(caps.bounding, "process.capabilities.bounding"));
  const uint64_t effective = TRY(CapMask(caps.effective, "process.capabilities.effective"));
  const uint64_t inheritable = TRY(CapMask(caps.inheritable, "process.capabilities.inheritable"));
  const uint64_t permitted = TRY(CapMask(caps.permitted, "process.capabilities.permitted"));
  const uint64_t ambient = TRY(CapMask(caps.ambient, "process.capabilities.ambient"));
  const uint64_t wanted = bounding | effective | inheritable | permitted | ambient;

  const int last = LastCap();
  const uint64_t known = last >= kMaxCap ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
  if (uint64_t m = wanted & ~known)
    return Fail(Error::PermissionDenied(
        fmt::format("unable to apply caps: {} {} not supported by this kernel (cap_last_cap {})",
                    Names(m), Several(m) ? "are" : "is", last)));
  if (uint64_t m = wanted & ~InBoundingSet(wanted, last))
    return Fail(Error::PermissionDenied(fmt::format(
        "unable to apply caps: {} {} not in the runtime's bounding set (the host does not "
        "grant {})",
        Names(m), Several(m) ? "are" : "is", Several(m) ? "them" : "it")));

  CapState current;
  current.caps = cap_get_proc();
  if (!current.caps) return Fail(Error::FromErrno(errno, "cap_get_proc"));
  const uint64_t own_permitted = TRY(FlagOf(current.caps, CAP_PERMITTED, last));
  const uint64_t own_inheritable = TRY(FlagOf(current.caps, CAP_INHERITABLE, last));
  if (uint64_t m = (permitted | effective | ambient) & ~own_permitted)
    return Fail(Error::PermissionDenied(
        fmt::format("unable to apply caps: {} {} not in the runtime's permitted set (after a uid "
                    "change, PR_SET_KEEPCAPS keeps it)",
                    Names(m), Several(m) ? "are" : "is")));
  // Checked here because the kernel answers all three with a bare EPERM.
  if (uint64_t m = effective & ~permitted)
    return Fail(Error::InvalidArgument(
        fmt::format("process.capabilities: {} in effective but not in permitted", Names(m))));
  if (uint64_t m = inheritable & ~(bounding | own_inheritable))
    return Fail(Error::InvalidArgument(
        fmt::format("process.capabilities: {} in inheritable but not in bounding", Names(m))));
  // The kernel only raises ambient caps that are permitted and inheritable. runc's default
  // config lists ambient caps with an empty inheritable set and runc skips them with a warning;
  // do the same so configs written for runc keep working.
  if (uint64_t m = ambient & ~(permitted & inheritable)) {
    base::LogDebug("process.capabilities: {} in ambient but not permitted and inheritable: skipped",
                   Names(m));
  }
  const uint64_t raisable_ambient = ambient & permitted & inheritable;

  // setresuid() away from root empties the effective set; PR_CAPBSET_DROP needs CAP_SETPCAP in
  // it, so raise everything still permitted for the duration.
  TRY(SetProc(own_permitted, own_permitted, own_inheritable, "raise effective"));
  // Dropping a cap that is not in the set succeeds: no need to read the whole set first.
  for (int c = 0; c <= last; ++c) {
    if (Has(bounding, c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
      int err = errno;
      return Fail(Error::FromErrno(err, fmt::format("prctl(PR_CAPBSET_DROP, {}){}", CapName(c),
                                                    err == EPERM ? " without CAP_SETPCAP" : "")));
    }
  }
  TRY(SetProc(effective, permitted, inheritable, "process.capabilities"));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)"));
  for (int c = 0; c <= last; ++c) {
    if (!Has(raisable_ambient, c)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
      int err = errno;
      return Fail(
          Error::FromErrno(err, fmt::format("prctl(PR_CAP_AMBIENT_RAISE, {})", CapName(c))));
    }
  }
  // execve clears it anyway; a caller using locked securebits instead cannot clear it, which
  // is fine.
  if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1) (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  return {};
}

}  // namespace berth::runtime::linux
