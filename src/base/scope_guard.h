// ScopeGuard: runs a callable when the scope ends unless Dismiss()ed. Used for cleanup on error
// paths ("if anything below fails, remove the cgroup we just made").
#pragma once

#include <utility>

namespace berth::base {

template <typename F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (active_) f_();
  }
  void Dismiss() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

}  // namespace berth::base
