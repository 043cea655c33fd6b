// A small sd-bus client: one connection to the system bus and one blocking
// method call at a time, each bounded by an explicit deadline.
//
// Why a wrapper at all: sd_bus_call() takes a timeout, but the connection's
// first call also waits for the Hello reply with sd-bus' own 90 s
// authentication timeout, and a bare sd_bus_call(..., 0, ...) waits 25 s.  A
// scrape must never wait on a stopped daemon longer than its deadline, so
// Open() waits for the connection to become ready with the caller's deadline
// and Call() derives its usec timeout from the deadline too.  A deadline that
// has already passed fails fast with ETIMEDOUT, without touching the bus.
//
// The system bus is found as sd_bus_open_system() finds it:
// DBUS_SYSTEM_BUS_ADDRESS when set, else /run/dbus/system_bus_socket.
//
// Every method firewalld exposes takes zero, one or two strings, so a call's
// arguments are a list of strings ("s" each); the reply is handed back as a
// Message for a decoder (decode.h) to read.
//
// Thread safety: a Connection belongs to one thread at a time (sd-bus objects
// are not thread-safe); Messages are independent values.
#pragma once

#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace portmap::dbus {

using Clock = std::chrono::steady_clock;

// The outcome of a bus operation.  `error_name` is the D-Bus error name when
// the peer answered with an error (e.g. ServiceUnknown), empty otherwise.
struct CallStatus {
  int err = 0;  // a positive errno; 0 on success
  std::string error_name;
  std::string message;

  bool ok() const { return err == 0; }
  bool timed_out() const { return err == ETIMEDOUT; }
  static CallStatus Ok() { return {}; }
  static CallStatus Errno(int err, std::string message);
};

// Owns one reference to an sd_bus_message.
class Message {
 public:
  Message() = default;
  explicit Message(sd_bus_message* adopted) : m_(adopted) {}
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  Message(Message&& other) noexcept : m_(other.m_) { other.m_ = nullptr; }
  Message& operator=(Message&& other) noexcept;
  ~Message() { sd_bus_message_unref(m_); }

  sd_bus_message* get() const { return m_; }
  sd_bus_message** out() { return &m_; }

 private:
  sd_bus_message* m_ = nullptr;
};

struct MethodCall {
  std::string destination;
  std::string path;
  std::string interface;
  std::string member;
  std::vector<std::string> args;  // each appended as "s"
};

// Owns one sd_bus connection.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&& other) noexcept : bus_(other.bus_) { other.bus_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();

  // Connects to the system bus and waits, until `deadline`, for the Hello
  // reply.  ENOENT/ECONNREFUSED in the status mean "no bus there".
  static Connection OpenSystem(Clock::time_point deadline, CallStatus* status);

  bool connected() const { return bus_ != nullptr; }
  sd_bus* get() const { return bus_; }

  // Calls `call` and waits for its reply until `deadline`.  A D-Bus error
  // reply is a failed status carrying the error's name and message.
  CallStatus Call(const MethodCall& call, Clock::time_point deadline, Message* reply) const;

 private:
  sd_bus* bus_ = nullptr;
};

// The usec timeout sd-bus wants for `deadline`: at least 1 (0 would mean "the
// 25 s default"), 0 when the deadline has passed.
uint64_t TimeoutUsec(Clock::time_point deadline, Clock::time_point now = Clock::now());

// org.freedesktop.DBus error names the collector reacts to.
inline constexpr char kErrorServiceUnknown[] = "org.freedesktop.DBus.Error.ServiceUnknown";
inline constexpr char kErrorNameHasNoOwner[] = "org.freedesktop.DBus.Error.NameHasNoOwner";

// The bus daemon itself.
inline constexpr char kBusName[] = "org.freedesktop.DBus";
inline constexpr char kBusPath[] = "/org/freedesktop/DBus";
inline constexpr char kBusInterface[] = "org.freedesktop.DBus";
inline constexpr char kPropertiesInterface[] = "org.freedesktop.DBus.Properties";

}  // namespace portmap::dbus
