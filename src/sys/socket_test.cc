#include "sys/socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace berth::sys {
namespace {

struct SeqPair {
  UniqueFd a, b;
  SeqPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    a.Reset(sv[0]);
    b.Reset(sv[1]);
  }
};

TEST(SendFds, OneRecordWithPayloadAndFds) {
  SeqPair s;
  int p1[2], p2[2];
  ASSERT_EQ(::pipe(p1), 0);
  ASSERT_EQ(::pipe(p2), 0);
  UniqueFd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  std::string payload("--id\0x\0", 7);
  ASSERT_TRUE(SendFds(s.a.get(), payload, {w1.get(), w2.get()}));
  auto got = RecvFds(s.b.get(), 4096, 4);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->payload, payload);
  ASSERT_EQ(got->fds.size(), 2u);
  // The received fds are the pipes' write ends: what goes in comes out of the read ends.
  ASSERT_EQ(::write(got->fds[1].get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(r2.get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');
  EXPECT_NE(::fcntl(got->fds[0].get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SendFds, NoFdsAndEof) {
  SeqPair s;
  ASSERT_TRUE(SendFds(s.a.get(), "ok\n", {}));
  auto got = RecvFds(s.b.get(), 64, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "ok\n");
  EXPECT_TRUE(got->fds.empty());
  s.a = UniqueFd();
  got = RecvFds(s.b.get(), 64, 0);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->payload.empty());
}

TEST(SendFds, TooLongIsAnErrorAndAGonePeerIsEpipe) {
  SeqPair s;
  ASSERT_TRUE(SendFds(s.a.get(), std::string(100, 'x'), {}));
  EXPECT_FALSE(RecvFds(s.b.get(), 10, 0));
  s.b = UniqueFd();
  auto st = SendFds(s.a.get(), "late", {});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("sendmsg"), std::string::npos);
}

}  // namespace
}  // namespace berth::sys
