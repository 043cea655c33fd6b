// A fake daemon on a unix socket for the HTTP client's tests
// (unix_http_test.cc, docker_api_test.cc): a thread serving one connection in
// a temporary directory, answering with canned or recorded bytes.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "collectors/collector.h"

namespace portmap {

// Listens on <tmpdir>/server.sock and serves one connection on a thread: reads
// the request up to its blank line, then hands the socket to `reply`, then
// closes it.
class FakeUnixServer {
 public:
  using Reply = std::function<void(int fd)>;

  explicit FakeUnixServer(Reply reply) {
    char dir[] = "/tmp/portmap_uhttp_XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/server.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    thread_ = std::thread([this, reply = std::move(reply)] { Serve(reply); });
  }

  ~FakeUnixServer() {
    thread_.join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  const std::string& path() const { return path_; }
  // The request as received; read it after the GET returned
  // (the server stores it before replying).
  std::string request() const {
    std::lock_guard<std::mutex> lock(mu_);
    return request_;
  }

  // Reply helpers.
  static void Write(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the client gave up; nothing to assert here
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // One byte at a time, so every parser state meets a read boundary.
  static void Dribble(int fd, std::string_view bytes) {
    for (char c : bytes) {
      Write(fd, std::string_view(&c, 1));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  // Blocks until the client closes its end (or 10 s pass).
  static void AwaitClientClose(int fd) {
    char buf[256];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 10000) > 0 && ::read(fd, buf, sizeof buf) > 0) {
    }
  }

 private:
  void Serve(const Reply& reply) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;  // the client never came
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_ = request;
    }
    reply(fd);
    ::close(fd);
  }

  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  mutable std::mutex mu_;
  std::string request_;
  std::thread thread_;
};

inline Clock::time_point In(std::chrono::milliseconds ms) { return Clock::now() + ms; }
inline constexpr std::chrono::milliseconds kGenerous(5000);

}  // namespace portmap
