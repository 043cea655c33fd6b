#include "collectors/firewalld/firewalld_client.h"

#include <cerrno>
#include <mutex>
#include <utility>

namespace portmap {

namespace {

using dbus::Message;
using dbus::MethodCall;

// The one connection sessions take turns on.  A session that finds it taken
// (two scrapes with different deadlines at once) opens one of its own.
class KeptConnection {
 public:
  dbus::Connection Take(bool* kept) {
    std::lock_guard<std::mutex> lock(mu_);
    *kept = conn_.connected() && sd_bus_is_open(conn_.get()) > 0;
    return *kept ? std::move(conn_) : dbus::Connection();
  }
  void Give(dbus::Connection conn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!conn_.connected()) conn_ = std::move(conn);
  }

 private:
  std::mutex mu_;
  dbus::Connection conn_;  // GUARDED_BY(mu_)
};

// The connection itself failed, not the call: the daemon restarted and the
// kept socket is dead.  sd-bus names such failures itself (Disconnected).
bool IsTransportError(const CallStatus& st) {
  return st.error_name == "org.freedesktop.DBus.Error.Disconnected" ||
         (st.error_name.empty() &&
          (st.err == ECONNRESET || st.err == ENOTCONN || st.err == EPIPE || st.err == ESHUTDOWN));
}

// After these the connection is not kept: a dead socket, or a reply that may
// still come and would only sit unread in it.
bool SpoilsConnection(const CallStatus& st) {
  return IsTransportError(st) || st.timed_out() ||
         st.error_name == "org.freedesktop.DBus.Error.NoReply" ||
         st.error_name == "org.freedesktop.DBus.Error.Timeout";
}

class SdBusSession : public FirewalldSession {
 public:
  SdBusSession(std::shared_ptr<KeptConnection> keeper, dbus::Connection conn, bool kept,
               dbus::Clock::time_point deadline)
      : keeper_(std::move(keeper)), conn_(std::move(conn)), kept_(kept), deadline_(deadline) {}
  SdBusSession(const SdBusSession&) = delete;
  SdBusSession& operator=(const SdBusSession&) = delete;
  // A connection whose calls all got an answer goes back for the next
  // session; one with a call timed out or broken does not (a late reply, a
  // dead socket).
  ~SdBusSession() override {
    if (healthy_ && conn_.connected()) keeper_->Give(std::move(conn_));
  }

  CallStatus NameHasOwner(bool* owned) override {
    return Call(BusCall("NameHasOwner"),
                [owned](sd_bus_message* m) { return dbus::DecodeBool(m, owned); });
  }

  CallStatus OwnerPid(uint32_t* pid) override {
    return Call(BusCall("GetConnectionUnixProcessID"),
                [pid](sd_bus_message* m) { return dbus::DecodeUint32(m, pid); });
  }

  CallStatus Property(const std::string& name, std::string* value) override {
    return Call({kFirewalldName,
                 kFirewalldPath,
                 dbus::kPropertiesInterface,
                 "Get",
                 {kFirewalldInterface, name}},
                [value](sd_bus_message* m) { return dbus::DecodeVariantString(m, value); });
  }

  CallStatus ConfigProperty(const std::string& name, std::string* value) override {
    return Call({kFirewalldName,
                 kFirewalldConfigPath,
                 dbus::kPropertiesInterface,
                 "Get",
                 {kFirewalldConfigInterface, name}},
                [value](sd_bus_message* m) { return dbus::DecodeVariantString(m, value); });
  }

  CallStatus DefaultZone(std::string* zone) override {
    return Call(Fw(kFirewalldInterface, "getDefaultZone", {}),
                [zone](sd_bus_message* m) { return dbus::DecodeString(m, zone); });
  }

  CallStatus ActiveZones(dbus::NameToLists* zones) override {
    return Call(Fw(kFirewalldZoneInterface, "getActiveZones", {}),
                [zones](sd_bus_message* m) { return dbus::DecodeNameToLists(m, zones); });
  }

  CallStatus ZoneOfInterface(const std::string& interface, std::string* zone) override {
    return Call(Fw(kFirewalldZoneInterface, "getZoneOfInterface", {interface}),
                [zone](sd_bus_message* m) { return dbus::DecodeString(m, zone); });
  }

  CallStatus ZoneSettings(const std::string& zone, dbus::Settings* settings) override {
    return Call(Fw(kFirewalldZoneInterface, "getZoneSettings2", {zone}),
                [settings](sd_bus_message* m) { return dbus::DecodeSettings(m, settings); });
  }

  CallStatus ServiceSettings(const std::string& service, dbus::Settings* settings) override {
    return Call(Fw(kFirewalldInterface, "getServiceSettings2", {service}),
                [settings](sd_bus_message* m) { return dbus::DecodeSettings(m, settings); });
  }

  CallStatus ActivePolicies(dbus::NameToLists* policies) override {
    return Call(Fw(kFirewalldPolicyInterface, "getActivePolicies", {}),
                [policies](sd_bus_message* m) { return dbus::DecodeNameToLists(m, policies); });
  }

  CallStatus PolicySettings(const std::string& policy, dbus::Settings* settings) override {
    return Call(Fw(kFirewalldPolicyInterface, "getPolicySettings", {policy}),
                [settings](sd_bus_message* m) { return dbus::DecodeSettings(m, settings); });
  }

 private:
  static MethodCall BusCall(const char* member) {
    return {dbus::kBusName, dbus::kBusPath, dbus::kBusInterface, member, {kFirewalldName}};
  }
  static MethodCall Fw(const char* interface, const char* member, std::vector<std::string> args) {
    return {kFirewalldName, kFirewalldPath, interface, member, std::move(args)};
  }

  template <typename Decode>
  CallStatus Call(const MethodCall& call, Decode decode) {
    Message reply;
    CallStatus st = conn_.Call(call, deadline_, &reply);
    if (kept_ && IsTransportError(st)) {
      // The kept connection died since the last session: one fresh try.
      kept_ = false;
      CallStatus open;
      conn_ = dbus::Connection::OpenSystem(deadline_, &open);
      if (!open.ok()) {
        healthy_ = false;
        return open;
      }
      st = conn_.Call(call, deadline_, &reply);
    }
    kept_ = false;  // answered once: a later failure is this session's
    if (SpoilsConnection(st)) healthy_ = false;
    if (!st.ok()) return st;
    st = decode(reply.get());
    if (!st.ok()) st.message = call.interface + "." + call.member + ": " + st.message;
    return st;
  }

  const std::shared_ptr<KeptConnection> keeper_;
  dbus::Connection conn_;
  bool kept_;            // conn_ came from the keeper and has not answered yet
  bool healthy_ = true;  // every call so far got an answer (maybe an error reply)
  const dbus::Clock::time_point deadline_;
};

class SdBusClient : public FirewalldClient {
 public:
  std::unique_ptr<FirewalldSession> Open(dbus::Clock::time_point deadline,
                                         CallStatus* status) override {
    bool kept = false;
    dbus::Connection conn = keeper_->Take(&kept);
    if (!kept) {
      conn = dbus::Connection::OpenSystem(deadline, status);
      if (!status->ok()) return nullptr;
    }
    *status = CallStatus::Ok();
    return std::make_unique<SdBusSession>(keeper_, std::move(conn), kept, deadline);
  }

 private:
  const std::shared_ptr<KeptConnection> keeper_ = std::make_shared<KeptConnection>();
};

}  // namespace

std::unique_ptr<FirewalldClient> NewSdBusFirewalldClient() {
  return std::make_unique<SdBusClient>();
}

bool IsNoOwner(const CallStatus& status) {
  return status.error_name == dbus::kErrorServiceUnknown ||
         status.error_name == dbus::kErrorNameHasNoOwner;
}

}  // namespace portmap
