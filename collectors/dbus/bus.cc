#include "collectors/dbus/bus.h"

#include <cerrno>
#include <utility>

#include "util/status.h"

namespace portmap::dbus {

namespace {

// Frees an sd_bus_error on every path out of a call.
class ErrorGuard {
 public:
  ErrorGuard() = default;
  ErrorGuard(const ErrorGuard&) = delete;
  ErrorGuard& operator=(const ErrorGuard&) = delete;
  ~ErrorGuard() { sd_bus_error_free(&error_); }
  sd_bus_error* get() { return &error_; }

 private:
  sd_bus_error error_ = SD_BUS_ERROR_NULL;
};

std::string Describe(const MethodCall& call) {
  return call.destination + " " + call.interface + "." + call.member;
}

}  // namespace

CallStatus CallStatus::Errno(int err, std::string message) {
  CallStatus st;
  st.err = err < 0 ? -err : err;
  if (st.err == 0) st.err = EIO;
  st.message = std::move(message) + ": " + ErrnoText(st.err);
  return st;
}

Message& Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    sd_bus_message_unref(m_);
    m_ = other.m_;
    other.m_ = nullptr;
  }
  return *this;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sd_bus_flush_close_unref(bus_);
    bus_ = other.bus_;
    other.bus_ = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  // close_unref, not flush: flushing waits for the socket to drain, and a
  // stopped bus daemon would make that wait unbounded.
  sd_bus_close_unref(bus_);
}

uint64_t TimeoutUsec(Clock::time_point deadline, Clock::time_point now) {
  if (now >= deadline) return 0;
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
  return usec > 0 ? static_cast<uint64_t>(usec) : 1;
}

Connection Connection::OpenSystem(Clock::time_point deadline, CallStatus* status) {
  Connection conn;
  if (TimeoutUsec(deadline) == 0) {
    *status = CallStatus::Errno(ETIMEDOUT, "connecting to the system bus");
    return conn;
  }
  int r = sd_bus_open_system(&conn.bus_);
  if (r < 0) {
    conn.bus_ = nullptr;
    *status = CallStatus::Errno(r, "connecting to the system bus");
    return conn;
  }
  // The socket is connected but Hello is still in flight; wait for it here,
  // with our deadline, rather than inside the first sd_bus_call().
  while (true) {
    r = sd_bus_is_ready(conn.bus_);
    if (r > 0) break;
    if (r < 0) {
      *status = CallStatus::Errno(r, "system bus handshake");
      return Connection();
    }
    r = sd_bus_process(conn.bus_, nullptr);
    if (r < 0) {
      *status = CallStatus::Errno(r, "system bus handshake");
      return Connection();
    }
    if (r > 0) continue;  // more to process before waiting
    const uint64_t usec = TimeoutUsec(deadline);
    if (usec == 0) {
      *status = CallStatus::Errno(ETIMEDOUT, "system bus handshake");
      return Connection();
    }
    r = sd_bus_wait(conn.bus_, usec);
    if (r < 0) {
      *status = CallStatus::Errno(r, "system bus handshake");
      return Connection();
    }
  }
  *status = CallStatus::Ok();
  return conn;
}

CallStatus Connection::Call(const MethodCall& call, Clock::time_point deadline,
                            Message* reply) const {
  if (bus_ == nullptr) return CallStatus::Errno(ENOTCONN, Describe(call));
  const uint64_t usec = TimeoutUsec(deadline);
  if (usec == 0) return CallStatus::Errno(ETIMEDOUT, Describe(call) + " (deadline passed)");
  Message request;
  int r = sd_bus_message_new_method_call(bus_, request.out(), call.destination.c_str(),
                                         call.path.c_str(), call.interface.c_str(),
                                         call.member.c_str());
  for (size_t i = 0; r >= 0 && i < call.args.size(); ++i) {
    r = sd_bus_message_append_basic(request.get(), 's', call.args[i].c_str());
  }
  if (r < 0) return CallStatus::Errno(r, "building " + Describe(call));
  ErrorGuard error;
  Message answer;
  r = sd_bus_call(bus_, request.get(), usec, error.get(), answer.out());
  if (r < 0) {
    CallStatus st = CallStatus::Errno(r, Describe(call));
    if (sd_bus_error_is_set(error.get())) {
      st.error_name = error.get()->name;
      if (error.get()->message != nullptr) {
        st.message = Describe(call) + ": " + error.get()->name + ": " + error.get()->message;
      }
    }
    return st;
  }
  *reply = std::move(answer);
  return CallStatus::Ok();
}

}  // namespace portmap::dbus
