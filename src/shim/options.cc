// berth-shim flag parsing, by hand: CLI11 would be the only user of its code in the shim.
#include "shim/options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"

namespace berth::shim {

using base::Error;
using base::Fail;

base::Result<ShimOptions> ParseOptions(const std::vector<std::string>& args) {
  ShimOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos && base::StartsWith(flag, "--")) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> base::Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size())
        return Fail(Error::InvalidArgument(fmt::format("flag {} needs a value", flag)));
      return args[++i];
    };
    auto take_int = [&](int64_t min) -> base::Result<int64_t> {
      std::string v = TRY(take());
      auto n = base::ParseInt(v);
      if (!n || *n < min)
        return Fail(Error::InvalidArgument(fmt::format("flag {}: bad value \"{}\"", flag, v)));
      return *n;
    };
    auto boolean = [&](bool& field) -> base::Status {
      if (!has_value) {
        field = true;
      } else if (value == "true" || value == "1") {
        field = true;
      } else if (value == "false" || value == "0") {
        field = false;
      } else {
        return Fail(Error::InvalidArgument(fmt::format("flag {}: bad value \"{}\"", flag, value)));
      }
      return {};
    };
    if (flag == "--id") {
      o.id = TRY(take());
    } else if (flag == "--bundle") {
      o.bundle = TRY(take());
    } else if (flag == "--exec") {
      TRY(boolean(o.exec));
    } else if (flag == "--process") {
      o.process = TRY(take());
    } else if (flag == "--state-dir") {
      o.state_dir = TRY(take());
    } else if (flag == "--runtime-root") {
      o.runtime_root = TRY(take());
    } else if (flag == "--log-path") {
      o.log_path = TRY(take());
    } else if (flag == "--log-max-size") {
      o.log_max_size = TRY(take_int(-1));
      if (o.log_max_size == 0) o.log_max_size = -1;
    } else if (flag == "--log-max-file") {
      o.log_max_file = static_cast<int>(TRY(take_int(1)));
    } else if (flag == "--attach-fd") {
      o.attach_fds.push_back(static_cast<int>(TRY(take_int(3))));
    } else if (flag == "--detach-keys") {
      o.detach_keys = TRY(take());
    } else if (flag == "--tty") {
      TRY(boolean(o.tty));
    } else if (flag == "--stdin") {
      TRY(boolean(o.stdin));
    } else if (flag == "--stdin-once") {
      TRY(boolean(o.stdin_once));
    } else if (flag == "--keep") {
      TRY(boolean(o.keep));
    } else if (flag == "--auto-remove") {
      TRY(boolean(o.auto_remove));
    } else if (flag == "--prelaunch") {
      TRY(boolean(o.prelaunch));
    } else if (flag == "--prelaunch-cgroups") {
      o.prelaunch_cgroups = TRY(take());
    } else if (flag == "--foreground") {
      TRY(boolean(o.foreground));
    } else {
      return Fail(Error::InvalidArgument(fmt::format("unknown flag \"{}\"", args[i])));
    }
  }
  for (auto [name, field] : {std::pair{"--id", &o.id},
                             {"--state-dir", &o.state_dir},
                             {"--runtime-root", &o.runtime_root}})
    if (field->empty()) return Fail(Error::InvalidArgument(fmt::format("{} is required", name)));
  if (o.exec) {
    if (o.process.empty()) return Fail(Error::InvalidArgument("--exec needs --process"));
    if (!o.bundle.empty()) return Fail(Error::InvalidArgument("--bundle is not used with --exec"));
    if (!o.log_path.empty())
      return Fail(Error::InvalidArgument("--log-path is not used with --exec"));
    if (o.prelaunch) return Fail(Error::InvalidArgument("--prelaunch is not used with --exec"));
  } else {
    if (o.bundle.empty()) return Fail(Error::InvalidArgument("--bundle is required"));
    if (!o.process.empty()) return Fail(Error::InvalidArgument("--process needs --exec"));
  }
  if (!o.prelaunch_cgroups.empty() && !o.prelaunch)
    return Fail(Error::InvalidArgument("--prelaunch-cgroups needs --prelaunch"));
  if (o.log_max_file > 1 && o.log_max_size < 0)
    return Fail(Error::InvalidArgument("--log-max-file > 1 needs --log-max-size"));
  TRY(ParseDetachKeys(o.detach_keys));
  return o;
}

base::Status MakeAbsolute(ShimOptions& o) {
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) return Fail(Error::FromErrno(errno, "getcwd"));
  for (std::string* p : {&o.bundle, &o.process, &o.state_dir, &o.runtime_root, &o.log_path})
    if (!p->empty() && (*p)[0] != '/') *p = std::string(cwd) + "/" + *p;
  return {};
}

base::Result<std::string> ParseDetachKeys(const std::string& spec) {
  std::string out;
  if (spec.empty()) return out;
  for (const auto& key : base::Split(spec, ',')) {
    if (key.size() == 1) {
      out += key;
      continue;
    }
    if (base::StartsWith(key, "ctrl-") && key.size() == 6) {
      char c = key[5];
      // Docker's table: ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_.
      if (c >= 'a' && c <= 'z') {
        out += static_cast<char>(c - 'a' + 1);
        continue;
      }
      if (c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_') {
        out += static_cast<char>(c - '@');
        continue;
      }
    }
    return Fail(Error::InvalidArgument(fmt::format("invalid detach key \"{}\"", key)));
  }
  return out;
}

}  // namespace berth::shim
