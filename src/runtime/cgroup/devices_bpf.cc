// cgroup v2 device filter: v1-equivalent rule reduction, BPF code generation, load and attach.
#include "runtime/cgroup/devices_bpf.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::runtime::cgroup::internal {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

Result<uint32_t> ParseAccess(const std::string& access) {
  if (access.empty()) return kAllAccess;
  uint32_t bits = 0;
  for (char c : access) {
    switch (c) {
      case 'r':
        bits |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        bits |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        bits |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return Fail(Error::InvalidArgument(
            fmt::format("devices: invalid access \"{}\" (want a subset of \"rwm\")", access)));
    }
  }
  return bits;
}

bool SameDevice(const DeviceException& a, const DeviceException& b) {
  return a.type == b.type && a.major == b.major && a.minor == b.minor;
}

// Instruction helpers (the kernel's filter.h macros are not in the uapi headers).
bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadCtxWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0);
}
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Return(int32_t verdict) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict);
}
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
// A jump to the next rule block; the offset is filled in once the block is complete.
constexpr int16_t kToNextBlock = 0x7fff;
bpf_insn JumpImm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_JMP | op | BPF_K, dst, 0, kToNextBlock, imm);
}
bpf_insn JumpReg(uint8_t op, uint8_t dst, uint8_t src) {
  return Insn(BPF_JMP | op | BPF_X, dst, src, kToNextBlock, 0);
}

long Bpf(int cmd, union bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

Result<sys::UniqueFd> LoadProgram(const std::vector<bpf_insn>& insns) {
  static const char kLicense[] = "Apache";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>(kLicense);
  int fd = static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return sys::UniqueFd(fd);
  int err = errno;
  // Load again with the verifier's log, which says why (only when it failed: logs cost).
  std::string log(16384, '\0');
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  fd = static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return sys::UniqueFd(fd);
  log.resize(std::strlen(log.c_str()));
  return Fail(Error::FromErrno(err, log.empty() ? "bpf(BPF_PROG_LOAD) device filter"
                                                : fmt::format("bpf(BPF_PROG_LOAD) device "
                                                              "filter (verifier: {})",
                                                              log)));
}

// Ids of the device programs attached to the cgroup itself.
Result<std::vector<uint32_t>> AttachedPrograms(int cgroup_fd, const std::string& dir) {
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (Bpf(BPF_PROG_QUERY, &attr) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("bpf(BPF_PROG_QUERY) \"{}\"", dir)));
  ids.resize(attr.query.prog_cnt);
  return ids;
}

}  // namespace

Result<DeviceFilter> ReduceDeviceRules(const std::vector<oci::DeviceRule>& rules) {
  DeviceFilter f;
  for (const oci::DeviceRule& r : rules) {
    uint32_t access = TRY(ParseAccess(r.access));
    if (r.type.empty() || r.type == "a") {
      // As in v1: "a" sets the default and forgets every exception.
      f.default_allow = r.allow;
      f.exceptions.clear();
      continue;
    }
    if (r.type != "b" && r.type != "c")
      return Fail(Error::InvalidArgument(
          fmt::format("devices: invalid type \"{}\" (want a, b or c)", r.type)));
    DeviceException ex{r.type[0], r.major.value_or(-1) < 0 ? -1 : *r.major,
                       r.minor.value_or(-1) < 0 ? -1 : *r.minor, access};
    auto same = std::find_if(f.exceptions.begin(), f.exceptions.end(),
                             [&](const DeviceException& e) { return SameDevice(e, ex); });
    if (r.allow == f.default_allow) {
      // A rule agreeing with the default takes access back from a matching exception.
      if (same != f.exceptions.end()) {
        same->access &= ~access;
        if (same->access == 0) f.exceptions.erase(same);
      }
    } else if (same != f.exceptions.end()) {
      same->access |= access;
    } else {
      f.exceptions.push_back(ex);
    }
  }
  return f;
}

std::vector<bpf_insn> BuildDeviceProgram(const DeviceFilter& filter) {
  std::vector<bpf_insn> prog = {
      LoadCtxWord(BPF_REG_2, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_AND, BPF_REG_2, 0xffff),  // r2 = device type
      LoadCtxWord(BPF_REG_3, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_RSH, BPF_REG_3, 16),  // r3 = requested access
      LoadCtxWord(BPF_REG_4, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadCtxWord(BPF_REG_5, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (const DeviceException& ex : filter.exceptions) {
    std::vector<bpf_insn> block;
    block.push_back(
        JumpImm(BPF_JNE, BPF_REG_2, ex.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (ex.access != kAllAccess) {
      block.push_back(Insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
      block.push_back(Alu32Imm(BPF_AND, BPF_REG_1, static_cast<int32_t>(ex.access)));
      if (filter.default_allow) {
        // v1 denies on any overlap with a deny exception...
        block.push_back(JumpImm(BPF_JEQ, BPF_REG_1, 0));
      } else {
        // ...and allows only when every requested bit is allowed.
        block.push_back(JumpReg(BPF_JNE, BPF_REG_1, BPF_REG_3));
      }
    }
    if (ex.major >= 0) block.push_back(JumpImm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(ex.major)));
    if (ex.minor >= 0) block.push_back(JumpImm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(ex.minor)));
    block.push_back(Return(filter.default_allow ? 0 : 1));
    block.push_back(Exit());
    for (size_t i = 0; i < block.size(); ++i)
      if (block[i].off == kToNextBlock) block[i].off = static_cast<int16_t>(block.size() - i - 1);
    prog.insert(prog.end(), block.begin(), block.end());
  }
  prog.push_back(Return(filter.default_allow ? 1 : 0));
  prog.push_back(Exit());
  return prog;
}

Status SetDeviceRules(const std::string& cgroup_dir, const std::vector<oci::DeviceRule>& rules) {
  DeviceFilter filter = TRY(ReduceDeviceRules(rules));
  sys::UniqueFd cgroup = TRY(sys::Open(cgroup_dir, O_RDONLY | O_DIRECTORY));
  auto old = AttachedPrograms(cgroup.get(), cgroup_dir);
  if (!old) base::LogDebug("{}; old device filters stay attached", old.error().message());
  if (filter.default_allow && filter.exceptions.empty() && old && old->empty())
    return {};  // nothing to restrict and nothing to replace

  sys::UniqueFd prog = TRY_CTX(LoadProgram(BuildDeviceProgram(filter)),
                               fmt::format("device rules for \"{}\"", cgroup_dir));
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) != 0)
    return Fail(Error::FromErrno(
        errno, fmt::format("bpf(BPF_PROG_ATTACH) device filter to \"{}\"", cgroup_dir)));
  // With ALLOW_MULTI every attached program must allow, so the new filter is in force before
  // the old ones go.
  for (uint32_t id : old ? *old : std::vector<uint32_t>{}) {
    union bpf_attr get;
    std::memset(&get, 0, sizeof get);
    get.prog_id = id;
    sys::UniqueFd old_prog(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, &get)));
    if (!old_prog) {
      if (errno == ENOENT) continue;
      return Fail(Error::FromErrno(errno, fmt::format("bpf(BPF_PROG_GET_FD_BY_ID) {}", id)));
    }
    union bpf_attr detach;
    std::memset(&detach, 0, sizeof detach);
    detach.target_fd = static_cast<uint32_t>(cgroup.get());
    detach.attach_bpf_fd = static_cast<uint32_t>(old_prog.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &detach) != 0 && errno != ENOENT)
      return Fail(Error::FromErrno(
          errno, fmt::format("bpf(BPF_PROG_DETACH) old device filter from \"{}\"", cgroup_dir)));
  }
  return {};
}

}  // namespace berth::runtime::cgroup::internal
