#include "backends/console.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/escape_filter.hpp"

namespace vessel::backends {
namespace {

using namespace std::chrono_literals;

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string temp_path(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/vessel_console_test_" + std::to_string(::getpid()) +
         "_" + name;
}

TEST(EscapeFilter, PassesOrdinaryBytes) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  for (uint8_t b : bytes_of("ls\r\x03")) EXPECT_EQ(f.feed(b, out), EscapeFilter::Action::kNone);
  EXPECT_EQ(std::string(out.begin(), out.end()), "ls\r\x03");
}

TEST(EscapeFilter, CtrlAXQuits) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  EXPECT_EQ(f.feed(0x01, out), EscapeFilter::Action::kNone);
  EXPECT_EQ(f.feed('x', out), EscapeFilter::Action::kQuit);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f.feed('x', out), EscapeFilter::Action::kNone);  // escape state was reset
  EXPECT_EQ(std::string(out.begin(), out.end()), "x");
}

TEST(EscapeFilter, DoubleCtrlASendsOne) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  f.feed(0x01, out);
  f.feed(0x01, out);
  f.feed('a', out);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x01, 'a'}));
}

TEST(EscapeFilter, HelpAndUnknownKeys) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  f.feed(0x01, out);
  EXPECT_EQ(f.feed('h', out), EscapeFilter::Action::kHelp);
  f.feed(0x01, out);
  EXPECT_EQ(f.feed('z', out), EscapeFilter::Action::kNone);  // swallowed
  EXPECT_TRUE(out.empty());
  EXPECT_NE(EscapeFilter::help_text().find("C-a x"), std::string_view::npos);
}

TEST(Console, FileGetsExactBytes) {
  const std::string path = temp_path("out");
  {
    auto console = Console::open({config::ConsoleSpec::Kind::kFile, path});
    ASSERT_TRUE(console) << console.error().message;
    (*console)->start_input([](std::span<const uint8_t>) -> size_t { return 0; }, [] {});
    (*console)->write(bytes_of("hello\r\n"));
    const std::vector<uint8_t> binary = {0x00, 0xff, 0x01, '\n'};
    (*console)->write(binary);
    std::vector<uint8_t> big(100000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
    (*console)->write(big);
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string expected = "hello\r\n";
  expected += std::string("\0\xff\x01\n", 4);
  for (size_t i = 0; i < 100000; ++i) expected.push_back(static_cast<char>(i * 7));
  EXPECT_EQ(std::string(got.begin(), got.end()), expected);
  ::unlink(path.c_str());
}

TEST(Console, FileIsTruncated) {
  const std::string path = temp_path("trunc");
  { std::ofstream(path) << "old contents that must go"; }
  {
    auto console = Console::open({config::ConsoleSpec::Kind::kFile, path});
    ASSERT_TRUE(console);
    (*console)->write(bytes_of("new"));
  }
  std::ifstream in(path);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "new");
  ::unlink(path.c_str());
}

TEST(Console, FileOpenErrorIsAValue) {
  auto console =
      Console::open({config::ConsoleSpec::Kind::kFile, "/nonexistent-dir-vessel/console.log"});
  ASSERT_FALSE(console);
  EXPECT_NE(console.error().message.find("nonexistent-dir-vessel"), std::string::npos);
}

TEST(Console, NoneDiscards) {
  auto console = Console::open({config::ConsoleSpec::Kind::kNone, ""});
  ASSERT_TRUE(console);
  (*console)->write(bytes_of("dropped"));
  (*console)->start_input([](std::span<const uint8_t>) -> size_t { return 0; }, [] {});
  (*console)->stop();
}

// Puts a pipe on stdin for the duration of a test.
class PipeStdin {
 public:
  PipeStdin() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    write_end_ = fds[1];
  }
  ~PipeStdin() {
    close_write();
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }
  void send(std::span<const uint8_t> b) {
    while (!b.empty()) {
      const ssize_t n = ::write(write_end_, b.data(), b.size());
      ASSERT_GT(n, 0);
      b = b.subspan(static_cast<size_t>(n));
    }
  }
  void close_write() {
    if (write_end_ >= 0) ::close(write_end_);
    write_end_ = -1;
  }

 private:
  int saved_ = -1;
  int write_end_ = -1;
};

// A deliver callback that takes at most one byte per call and refuses every other call, like a
// UART whose FIFO the guest drains slowly.
struct SlowSink {
  size_t operator()(std::span<const uint8_t> b) {
    std::lock_guard lock(mutex);
    if (b.empty() || (++calls % 2) == 0) return 0;
    got.push_back(b[0]);
    return 1;
  }
  size_t size() {
    std::lock_guard lock(mutex);
    return got.size();
  }
  std::mutex mutex;
  std::vector<uint8_t> got;
  size_t calls = 0;
};

bool wait_for(const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(5ms);
  return done();
}

TEST(Console, PipeInputIsDeliveredCompletelyOneByteAtATime) {
  PipeStdin pipe;
  std::string data;
  for (int i = 0; i < 1500; ++i) data.push_back(static_cast<char>(i % 251));
  data += "\x01x\x01\x01";  // no escape handling on a pipe: passed through as they are
  SlowSink sink;
  std::atomic<int> quits{0};
  auto console = Console::open({config::ConsoleSpec::Kind::kStdio, ""});
  ASSERT_TRUE(console) << console.error().message;
  (*console)->start_input([&](std::span<const uint8_t> b) { return sink(b); }, [&] { ++quits; });
  pipe.send(bytes_of(data));
  pipe.close_write();  // EOF ends input but not before everything is delivered
  EXPECT_TRUE(wait_for([&] { return sink.size() >= data.size(); }));
  (*console)->stop();
  std::lock_guard lock(sink.mutex);
  EXPECT_EQ(std::string(sink.got.begin(), sink.got.end()), data);
  EXPECT_EQ(quits.load(), 0);
}

TEST(Console, StopEndsInputWhileGuestRefuses) {
  PipeStdin pipe;
  std::atomic<int> offers{0};
  auto console = Console::open({config::ConsoleSpec::Kind::kStdio, ""});
  ASSERT_TRUE(console);
  (*console)->start_input(
      [&](std::span<const uint8_t>) -> size_t {
        ++offers;
        return 0;
      },
      [] {});
  pipe.send(bytes_of("pending"));
  EXPECT_TRUE(wait_for([&] { return offers.load() >= 5; }));  // offered again and again
  const auto start = std::chrono::steady_clock::now();
  (*console)->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  (*console)->stop();  // idempotent
}

}  // namespace
}  // namespace vessel::backends
