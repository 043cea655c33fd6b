#include "collectors/firewalld/firewalld_client.h"

#include <utility>

namespace portmap {

namespace {

using dbus::Message;
using dbus::MethodCall;

class SdBusSession : public FirewalldSession {
 public:
  SdBusSession(dbus::Connection conn, dbus::Clock::time_point deadline)
      : conn_(std::move(conn)), deadline_(deadline) {}

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
    if (!st.ok()) return st;
    st = decode(reply.get());
    if (!st.ok()) st.message = call.interface + "." + call.member + ": " + st.message;
    return st;
  }

  dbus::Connection conn_;
  const dbus::Clock::time_point deadline_;
};

class SdBusClient : public FirewalldClient {
 public:
  std::unique_ptr<FirewalldSession> Open(dbus::Clock::time_point deadline,
                                         CallStatus* status) override {
    dbus::Connection conn = dbus::Connection::OpenSystem(deadline, status);
    if (!status->ok()) return nullptr;
    return std::make_unique<SdBusSession>(std::move(conn), deadline);
  }
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
