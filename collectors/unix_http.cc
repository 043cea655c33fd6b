#include "collectors/unix_http.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>

namespace portmap {

namespace {

constexpr size_t kMaxBody = size_t{16} << 20;
// A daemon's headers (Docker's) are a few hundred bytes; the caps only stop a
// peer that never ends a line from growing the buffer.
constexpr size_t kMaxLine = 8 << 10;
constexpr size_t kMaxHeaders = 64 << 10;

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Polls `fd` for `events` until it is ready (true; errors and hang-ups count
// as ready, the next read or write reports them) or `deadline` passes.
bool WaitReady(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    Clock::duration left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return false;
    // Rounded up, so a wake-up never comes before the deadline and spins.
    int64_t ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, INT_MAX)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the I/O call name the error
  }
}

Status Connect(int fd, const std::string& socket_path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return Status::Error("connect " + socket_path + ": not a usable unix socket path (length " +
                         std::to_string(socket_path.size()) + ")");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      return Status::Ok();
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {
      // A unix socket does not queue a non-blocking connect: EAGAIN means the
      // server's accept backlog is full right now, so try again shortly.
      constexpr int kPauseMs = 5;
      if (Clock::now() + std::chrono::milliseconds(kPauseMs) >= deadline) {
        return Status::Error("timed out connecting to " + socket_path);
      }
      ::poll(nullptr, 0, kPauseMs);
      continue;
    }
    if (err == EINPROGRESS) {  // not what unix sockets do today, but allowed
      if (!WaitReady(fd, POLLOUT, deadline)) {
        return Status::Error("timed out connecting to " + socket_path);
      }
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) return Status::Ok();
    }
    return Status::Error("connect " + socket_path + ": " + ErrnoText(err));
  }
}

Status SendAll(int fd, std::string_view data, const std::string& socket_path,
               Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return Status::Error("send to " + socket_path + ": " + ErrnoText(errno));
    if (!WaitReady(fd, POLLOUT, deadline)) {
      return Status::Error("timed out sending the request to " + socket_path);
    }
  }
  return Status::Ok();
}

// The read side of the connection: a buffer the parser consumes from the
// front, refilled under the deadline.
class Reader {
 public:
  Reader(int fd, const std::string& socket_path, std::string_view name, Clock::time_point deadline)
      : fd_(fd), socket_path_(socket_path), name_(name), deadline_(deadline) {}

  size_t buffered() const { return buf_.size() - pos_; }

  // Reads whatever arrives next; at end of stream sets eof_ instead.
  Status Fill() {
    if (pos_ > (1 << 20)) {  // keep memory near what is still unparsed
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[16 << 10];  // not buf_.resize(): that would zero it on every read
    for (;;) {
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        return Status::Ok();
      }
      if (n == 0) {
        eof_ = true;
        return Status::Ok();
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        return Status::Error("read from " + socket_path_ + ": " + ErrnoText(errno));
      }
      if (!WaitReady(fd_, POLLIN, deadline_)) {
        return Status::Error("timed out reading the answer from " + socket_path_);
      }
    }
  }

  // One line without its CRLF (a bare LF is accepted too).  `where` says what
  // was being read if the peer hangs up first.
  Status ReadLine(std::string* line, const char* where) {
    size_t scanned = 0;  // relative to pos_: Fill() may move the buffer
    for (;;) {
      size_t nl = buf_.find('\n', pos_ + scanned);
      if (nl != std::string::npos) {
        size_t end = (nl > pos_ && buf_[nl - 1] == '\r') ? nl - 1 : nl;
        line->assign(buf_, pos_, end - pos_);
        pos_ = nl + 1;
        return Status::Ok();
      }
      if (buffered() > kMaxLine) {
        return Fail(std::string("sent a line over 8 KiB in ") + where);
      }
      scanned = buffered();
      if (eof_) return Closed(where);
      Status s = Fill();
      if (!s.ok()) return s;
    }
  }

  // Exactly `n` more bytes onto *out (what did arrive is kept on error, so an
  // error answer cut short can still be quoted).
  Status Read(size_t n, std::string* out, const char* where) {
    for (;;) {
      size_t take = std::min(n, buffered());
      out->append(buf_, pos_, take);
      pos_ += take;
      n -= take;
      if (n == 0) return Status::Ok();
      if (eof_) return Closed(where);
      Status s = Fill();
      if (!s.ok()) return s;
    }
  }

  // Everything until the peer closes, at most `cap` bytes in *out.
  Status ReadToEnd(std::string* out, size_t cap) {
    for (;;) {
      out->append(buf_, pos_, std::string::npos);
      pos_ = buf_.size();
      if (out->size() > cap) return TooBig();
      if (eof_) return Status::Ok();
      Status s = Fill();
      if (!s.ok()) return s;
    }
  }

  Status TooBig() const { return Fail("answer is over the 16 MiB cap"); }

  // An error about the answer, starting with the server's name.
  Status Fail(const std::string& what) const { return Status::Error(name_ + " " + what); }

 private:
  Status Closed(const char* where) const {
    return Fail(std::string("closed the connection in ") + where);
  }

  int fd_;
  const std::string& socket_path_;
  const std::string name_;
  Clock::time_point deadline_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Head {
  int code = 0;
  std::string reason;
  bool chunked = false;
  bool has_length = false;
  size_t length = 0;
};

// Status line and headers, skipping any 1xx interim answers.
Status ReadHead(Reader* r, Head* head) {
  for (;;) {
    std::string line;
    Status s = r->ReadLine(&line, "the status line");
    if (!s.ok()) return s;
    // "HTTP/1.1 200 OK"; the reason phrase may be empty.
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ' ||
        std::from_chars(line.data() + 9, line.data() + 12, head->code).ptr != line.data() + 12 ||
        head->code < 100 || (line.size() > 12 && line[12] != ' ')) {
      return r->Fail("sent a malformed status line: \"" + line.substr(0, 80) + "\"");
    }
    head->reason = std::string(Trim(std::string_view(line).substr(12)));
    size_t header_bytes = 0;
    for (;;) {
      s = r->ReadLine(&line, "the answer's headers");
      if (!s.ok()) return s;
      if (line.empty()) break;
      header_bytes += line.size();
      if (header_bytes > kMaxHeaders) return r->Fail("headers are over 64 KiB");
      size_t colon = line.find(':');
      if (colon == std::string::npos || colon == 0) {
        return r->Fail("sent a malformed header: \"" + line.substr(0, 80) + "\"");
      }
      std::string name = Lower(Trim(std::string_view(line).substr(0, colon)));
      std::string_view value = Trim(std::string_view(line).substr(colon + 1));
      if (name == "content-length") {
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), head->length);
        if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
          return r->Fail("sent a bad Content-Length: \"" + std::string(value) + "\"");
        }
        head->has_length = true;
      } else if (name == "transfer-encoding") {
        // Chunked is always the last coding when present (RFC 9112 6.1).
        std::string codings = Lower(value);
        head->chunked =
            codings.size() >= 7 && codings.compare(codings.size() - 7, 7, "chunked") == 0;
      }
    }
    if (head->code >= 200) return Status::Ok();
    *head = Head();  // 100 Continue and friends: the real answer follows
  }
}

Status ReadChunked(Reader* r, std::string* body) {
  std::string line;
  for (;;) {
    Status s = r->ReadLine(&line, "a chunked body");
    if (!s.ok()) return s;
    std::string_view size_text = Trim(std::string_view(line).substr(0, line.find(';')));
    size_t size = 0;
    auto [ptr, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || ptr != size_text.data() + size_text.size() || size_text.empty()) {
      return r->Fail("sent a bad chunk size: \"" + line.substr(0, 80) + "\"");
    }
    if (size == 0) break;
    if (size > kMaxBody || body->size() + size > kMaxBody) return r->TooBig();
    s = r->Read(size, body, "a chunked body");
    if (!s.ok()) return s;
    s = r->ReadLine(&line, "a chunked body");
    if (!s.ok()) return s;
    if (!line.empty()) return r->Fail("chunk is longer than its size");
  }
  // Trailers, up to the empty line.
  size_t trailer_bytes = 0;
  do {
    Status s = r->ReadLine(&line, "a chunked body's trailers");
    if (!s.ok()) return s;
    trailer_bytes += line.size();
    if (trailer_bytes > kMaxHeaders) return r->Fail("trailers are over 64 KiB");
  } while (!line.empty());
  return Status::Ok();
}

Status ReadBody(Reader* r, const Head& head, std::string* body) {
  if (head.code == 204 || head.code == 304) return Status::Ok();
  if (head.chunked) return ReadChunked(r, body);
  if (head.has_length) {
    if (head.length > kMaxBody) return r->TooBig();
    return r->Read(head.length, body, "the body");
  }
  return r->ReadToEnd(body, kMaxBody);
}

}  // namespace

Status UnixHttpGet(const std::string& socket_path, const std::string& path,
                   const UnixHttpServer& server, Clock::time_point deadline, std::string* body) {
  body->clear();
  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Error("socket(AF_UNIX): " + ErrnoText(errno));
  Status s = Connect(fd.get(), socket_path, deadline);
  if (!s.ok()) return s;
  // Connection: close lets a body without Content-Length end at EOF, and
  // keeps the server from holding the connection open after the answer.
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + std::string(server.host) +
      "\r\nUser-Agent: portmap_exporter\r\nAccept: " + std::string(server.accept) +
      "\r\nConnection: close\r\n\r\n";
  s = SendAll(fd.get(), request, socket_path, deadline);
  if (!s.ok()) return s;

  Reader reader(fd.get(), socket_path, server.name, deadline);
  Head head;
  s = ReadHead(&reader, &head);
  if (!s.ok()) return s;
  s = ReadBody(&reader, head, body);
  if (head.code != 200) {
    // Quote what the server said ({"message":"..."}), even if the body was
    // cut short: the status is the news.
    std::string what = std::string(server.name) + " answered " + std::to_string(head.code);
    if (!head.reason.empty()) what += " " + head.reason;
    std::string_view quoted = Trim(std::string_view(*body).substr(0, 200));
    while (!quoted.empty() && (quoted.back() == '\n' || quoted.back() == '\r')) {
      quoted.remove_suffix(1);
    }
    if (!quoted.empty()) what += ": " + std::string(quoted);
    body->clear();
    return Status::Error(what);
  }
  if (!s.ok()) body->clear();
  return s;
}

}  // namespace portmap
