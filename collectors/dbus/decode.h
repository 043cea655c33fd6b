// Decoders for the reply shapes firewalld and the bus daemon answer with,
// from an sd_bus_message into plain C++ values.
//
// Each decoder reads the message body from its start (it rewinds first), so
// the same message can be decoded twice, and checks the signature before
// reading: a reply of an unexpected shape is an EBADMSG status naming the
// signature, never a crash or a half-filled value.
//
// Unit tests build the messages these read with sd-bus itself
// (sd_bus_message_append on a message made on a bus that is never connected,
// then sd_bus_message_seal), so the decoding is tested on the real wire
// format without a bus daemon; see tests/unit/collectors/dbus/decode_test.cc.
#pragma once

#include <systemd/sd-bus.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/dbus/bus.h"

namespace portmap::dbus {

// "s"
CallStatus DecodeString(sd_bus_message* m, std::string* out);
// "b"
CallStatus DecodeBool(sd_bus_message* m, bool* out);
// "u"
CallStatus DecodeUint32(sd_bus_message* m, uint32_t* out);
// "v" holding "s" (org.freedesktop.DBus.Properties.Get of a string property)
CallStatus DecodeVariantString(sd_bus_message* m, std::string* out);

// "a{sa{sas}}": getActiveZones / getActivePolicies, e.g.
//   {"public": {"interfaces": ["eth0"]}, "docker": {"interfaces": ["docker0"]}}
using NameToLists = std::map<std::string, std::map<std::string, std::vector<std::string>>>;
CallStatus DecodeNameToLists(sd_bus_message* m, NameToLists* out);

// "a{sv}": getZoneSettings2 / getPolicySettings / getServiceSettings2.  The
// values firewalld uses are kept by type; a key of any other type (e.g. the
// policy's "priority", an "i") is skipped, as newer firewalld versions may add
// keys of types this exporter does not need.
struct Settings {
  std::map<std::string, std::string> strings;                                     // s
  std::map<std::string, bool> bools;                                              // b
  std::map<std::string, std::vector<std::string>> lists;                          // as
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> pairs;  // a(ss)
  std::map<std::string, std::vector<std::array<std::string, 4>>> quads;           // a(ssss)
};
CallStatus DecodeSettings(sd_bus_message* m, Settings* out);

}  // namespace portmap::dbus
