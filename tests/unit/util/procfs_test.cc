#include "util/procfs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace portmap {
namespace {

class ProcfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("procfs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  std::filesystem::path dir_;
};

TEST_F(ProcfsTest, ReadsIntegerWithNewline) {
  int64_t v = -1;
  ASSERT_TRUE(ReadInt64(Write("ip_forward", "1\n"), &v).ok());
  EXPECT_EQ(v, 1);
}

TEST_F(ProcfsTest, ReadFileUpToReadsWithinTheBoundAndStopsPastIt) {
  // Larger than one 64 KiB read, so the bound is checked across reads.
  const std::string big(size_t{200} * 1024, 'x');
  const std::string path = Write("big", big);
  std::string text;
  bool too_large = true;
  EXPECT_EQ(ReadFileUpTo(path, big.size(), &text, &too_large), 0);
  EXPECT_FALSE(too_large);
  EXPECT_EQ(text, big);
  EXPECT_EQ(ReadFileUpTo(path, big.size() - 1, &text, &too_large), 0);
  EXPECT_TRUE(too_large);
  EXPECT_EQ(ReadFileUpTo((dir_ / "absent").string(), 10, &text, &too_large), ENOENT);
  EXPECT_FALSE(too_large);
}

TEST_F(ProcfsTest, MissingFileIsNotFound) {
  int64_t v = 0;
  ReadResult r = ReadInt64((dir_ / "absent").string(), &v);
  EXPECT_EQ(r.code, ReadResult::Code::kNotFound);
  EXPECT_NE(r.error.find("absent"), std::string::npos);
}

TEST_F(ProcfsTest, GarbageIsAnErrorNamingTheFile) {
  int64_t v = 0;
  for (const char* text : {"", "yes\n", "1 2\n", "0x1\n"}) {
    ReadResult r = ReadInt64(Write("bad", text), &v);
    EXPECT_EQ(r.code, ReadResult::Code::kError) << '"' << text << '"';
    EXPECT_NE(r.error.find("bad"), std::string::npos);
  }
}

TEST_F(ProcfsTest, ListDirSortedWithoutDots) {
  Write("b", "");
  Write("a", "");
  std::vector<std::string> names;
  ASSERT_TRUE(ListDir(dir_.string(), &names).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
}

// A process's start time, on the docker collector's fixture tree: btime
// 1795550000, 100 ticks per second; the comm of 99 has spaces and parentheses.
Paths DockerFixture() {
  Paths p;
  p.procfs = std::string(PORTMAP_FIXTURES) + "/docker/proc";
  return p;
}

TEST(ProcessStartTimeTest, StarttimeTicksPlusBtime) {
  double seconds = 0;
  ASSERT_TRUE(ProcessStartTimeSeconds(DockerFixture(), 1200, 100, &seconds).ok());
  EXPECT_DOUBLE_EQ(seconds, 1795550000 + 500.0);
  // comm "(a (weird) name)": fields are counted after the last ')'.
  ASSERT_TRUE(ProcessStartTimeSeconds(DockerFixture(), 99, 100, &seconds).ok());
  EXPECT_DOUBLE_EQ(seconds, 1795550000 + 9.0);
}

TEST(ProcessStartTimeTest, StartTicksAreField22) {
  int64_t ticks = 0;
  ASSERT_TRUE(ProcessStartTicks(DockerFixture(), 1300, &ticks).ok());
  EXPECT_EQ(ticks, 70000);
  ASSERT_TRUE(ProcessStartTicks(DockerFixture(), 99, &ticks).ok());
  EXPECT_EQ(ticks, 900);
  EXPECT_EQ(ProcessStartTicks(DockerFixture(), 4242, &ticks).code, ReadResult::Code::kNotFound);
}

TEST(ProcessStartTimeTest, MissingProcessIsNotFound) {
  double seconds = 0;
  EXPECT_EQ(ProcessStartTimeSeconds(DockerFixture(), 4242, 100, &seconds).code,
            ReadResult::Code::kNotFound);
}

}  // namespace
}  // namespace portmap
