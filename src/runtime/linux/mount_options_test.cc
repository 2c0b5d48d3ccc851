#include "runtime/linux/mount_options.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth::runtime::linux {
namespace {

TEST(MountOptionsTest, FlagsPropagationAndData) {
  auto o = ParseMountOptions({"rbind", "ro", "nosuid", "rslave", "size=64m", "mode=755"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->bind);
  EXPECT_TRUE(o->recursive_bind);
  EXPECT_EQ(o->flags & (MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID),
            static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(o->propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o->data, "size=64m,mode=755");
}

TEST(MountOptionsTest, ClearingOptionWins) {
  auto o = ParseMountOptions({"ro", "rw", "noexec", "exec"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->flags & (MS_RDONLY | MS_NOEXEC), 0u);
}

TEST(MountOptionsTest, IdmapIsRefused) { EXPECT_FALSE(ParseMountOptions({"idmap"})); }

}  // namespace
}  // namespace berth::runtime::linux
