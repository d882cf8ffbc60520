// util/subprocess: children stop with their owner, report exit codes and signals.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "openpcc/util/subprocess.h"

namespace openpcc {
namespace {

using namespace std::chrono_literals;

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("openpcc-subprocess-") + std::to_string(getpid()) + "-" + name))
      .string();
}

TEST(SubprocessTest, ReportsExitCodeAndLogs) {
  std::string log = TempPath("log");
  std::filesystem::remove(log);
  Subprocess child =
      Subprocess::Start({{"/bin/sh", "-c", "echo hello; exit 3"}, {}, log, {}}).value();
  EXPECT_EQ(child.Wait(), 3);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hello");
  std::filesystem::remove(log);
}

TEST(SubprocessTest, StopTerminatesAndKillIsReported) {
  Subprocess child = Subprocess::Start({{"/bin/sleep", "30"}, {}, {}, {}}).value();
  EXPECT_TRUE(child.Running());
  EXPECT_EQ(child.Stop(2s), 128 + SIGTERM);
  EXPECT_FALSE(child.Running());
  Subprocess stubborn =
      Subprocess::Start({{"/bin/sh", "-c", "trap '' TERM; sleep 30"}, {}, {}, {}}).value();
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  EXPECT_EQ(stubborn.Stop(200ms), 128 + SIGKILL);
}

// A parent blocking SIGTERM (as `openpcc up` does, to sigwait for it) must not pass that mask on:
// a program that does not unblock it would ignore Stop()'s SIGTERM and the death signal.
TEST(SubprocessTest, ChildStartsWithNoSignalBlocked) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  Subprocess child = Subprocess::Start({{"/bin/sleep", "30"}, {}, {}, {}}).value();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(child.Stop(20s), 128 + SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(SubprocessTest, WaitsForReadyFileOrExit) {
  std::string ready = TempPath("ready");
  std::filesystem::remove(ready);
  Subprocess child = Subprocess::Start({{"/bin/sh", "-c",
                                         "sleep 0.2; printf '127.0.0.1:4242\\n' > " + ready +
                                             "; sleep 30"},
                                        {}, {}, {}})
                         .value();
  EXPECT_EQ(WaitForFile(ready, 5s, &child).value(), "127.0.0.1:4242");
  std::filesystem::remove(ready);
  Subprocess quitter = Subprocess::Start({{"/bin/sh", "-c", "exit 1"}, {}, {}, {}}).value();
  Result<std::string> missing = WaitForFile(ready, 5s, &quitter);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("exited before"), std::string::npos);
  EXPECT_FALSE(WaitForFile(ready, 50ms).ok());
}

TEST(SubprocessTest, MissingExecutableExits127) {
  Subprocess child = Subprocess::Start({{"/nonexistent/openpcc"}, {}, {}, {}}).value();
  EXPECT_EQ(child.Wait(), 127);
}

}  // namespace
}  // namespace openpcc
