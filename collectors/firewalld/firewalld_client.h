// FirewalldClient: the narrow interface between the firewalld collector and
// D-Bus — the dozen calls `firewall-cmd --list-all` makes, typed.  The real
// one talks to org.fedoraproject.FirewallD1 on the system bus through sd-bus
// (collectors/dbus/bus.h); unit tests pass a fake.
//
// Names and signatures, as firewalld 1.3 exports them
// (src/firewall/server/firewalld.py, config.py):
//   /org/fedoraproject/FirewallD1
//     org.freedesktop.DBus.Properties.Get(ss) -> v   "version", "state" of
//                                                    org.fedoraproject.FirewallD1
//     org.fedoraproject.FirewallD1.getDefaultZone() -> s
//     org.fedoraproject.FirewallD1.getServiceSettings2(s) -> a{sv}
//     org.fedoraproject.FirewallD1.zone.getActiveZones() -> a{sa{sas}}
//     org.fedoraproject.FirewallD1.zone.getZoneOfInterface(s) -> s ("" = none)
//     org.fedoraproject.FirewallD1.zone.getZoneSettings2(s) -> a{sv}
//     org.fedoraproject.FirewallD1.policy.getActivePolicies() -> a{sa{sas}}
//     org.fedoraproject.FirewallD1.policy.getPolicySettings(s) -> a{sv}
//     signal org.fedoraproject.FirewallD1.Reloaded()
//   /org/fedoraproject/FirewallD1/config
//     Properties.Get("org.fedoraproject.FirewallD1.config", "FirewallBackend") -> v
// and of the bus daemon: NameHasOwner(s) -> b, GetConnectionUnixProcessID(s) -> u.
//
// Deadlines: a session is opened for one scrape with that scrape's deadline,
// and every call it makes is bounded by it (collectors/dbus/bus.h), so a stopped
// firewalld costs a scrape at most its own deadline.
//
// Thread safety: a client may open sessions from several threads at once;
// each session is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "collectors/dbus/bus.h"
#include "collectors/dbus/decode.h"

namespace portmap {

inline constexpr char kFirewalldName[] = "org.fedoraproject.FirewallD1";
inline constexpr char kFirewalldPath[] = "/org/fedoraproject/FirewallD1";
inline constexpr char kFirewalldInterface[] = "org.fedoraproject.FirewallD1";
inline constexpr char kFirewalldZoneInterface[] = "org.fedoraproject.FirewallD1.zone";
inline constexpr char kFirewalldPolicyInterface[] = "org.fedoraproject.FirewallD1.policy";
inline constexpr char kFirewalldConfigPath[] = "/org/fedoraproject/FirewallD1/config";
inline constexpr char kFirewalldConfigInterface[] = "org.fedoraproject.FirewallD1.config";

using dbus::CallStatus;

class FirewalldSession {
 public:
  virtual ~FirewalldSession() = default;

  // Of the bus daemon, about firewalld's well-known name.
  virtual CallStatus NameHasOwner(bool* owned) = 0;
  virtual CallStatus OwnerPid(uint32_t* pid) = 0;

  // A string property of org.fedoraproject.FirewallD1 ("state", "version").
  virtual CallStatus Property(const std::string& name, std::string* value) = 0;
  // A string property of the config object ("FirewallBackend").
  virtual CallStatus ConfigProperty(const std::string& name, std::string* value) = 0;

  virtual CallStatus DefaultZone(std::string* zone) = 0;
  virtual CallStatus ActiveZones(dbus::NameToLists* zones) = 0;
  // "" when the interface is bound to no zone (it then uses the default zone).
  virtual CallStatus ZoneOfInterface(const std::string& interface, std::string* zone) = 0;
  virtual CallStatus ZoneSettings(const std::string& zone, dbus::Settings* settings) = 0;
  virtual CallStatus ServiceSettings(const std::string& service, dbus::Settings* settings) = 0;
  virtual CallStatus ActivePolicies(dbus::NameToLists* policies) = 0;
  virtual CallStatus PolicySettings(const std::string& policy, dbus::Settings* settings) = 0;
};

class FirewalldClient {
 public:
  virtual ~FirewalldClient() = default;
  // A session whose calls all end by `deadline`; nullptr with *status set
  // when the bus cannot be reached (status.err ENOENT/ECONNREFUSED: no bus).
  virtual std::unique_ptr<FirewalldSession> Open(dbus::Clock::time_point deadline,
                                                 CallStatus* status) = 0;
};

// The real client: one system-bus connection kept from session to session (no
// AUTH and Hello per read).  A session whose first call finds the kept
// connection dead (dbus-daemon restarted) reconnects once and carries on; a
// connection that saw a call time out is dropped, not kept.
std::unique_ptr<FirewalldClient> NewSdBusFirewalldClient();

// Whether a failed status means "nobody owns the name" (firewalld went away
// between two calls) rather than a fault.
bool IsNoOwner(const CallStatus& status);

}  // namespace portmap
