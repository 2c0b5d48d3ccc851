// libFuzzer target for layer extraction: any bytes (tar, or gzip/zstd of one) must extract or
// fail cleanly in both whiteout modes, and nothing may appear next to the extraction root.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "archive/compression.h"
#include "archive/extract.h"
#include "archive/stream.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_tar: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void ExtractOnce(const uint8_t* data, size_t size, bool overlay) {
  namespace archive = berth::archive;
  char tmpl[] = "/tmp/berth-fuzz-tar.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp", "");
  std::string base = tmpl;
  std::string root = base + "/root";
  if (::mkdir(root.c_str(), 0755) != 0) Die("mkdir", root);
  {
    berth::sys::UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) Die("open root", root);
    archive::MemorySource mem(std::span<const uint8_t>(data, size));
    archive::DecompressingSource src(mem);
    archive::ExtractOptions options;
    options.overlay_whiteouts = overlay;
    (void)archive::ExtractLayer(src, fd.get(), options);
  }
  // The confinement oracle: whatever the input, the root's parent holds only the root.
  auto names = berth::sys::ListDir(base);
  if (!names || names->size() != 1 || (*names)[0] != "root")
    Die("extraction wrote outside the root", base);
  if (auto r = berth::sys::RemoveAll(base); !r) Die("cleanup", r.error().message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ExtractOnce(data, size, true);
  ExtractOnce(data, size, false);
  return 0;
}
