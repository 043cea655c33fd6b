#include "collectors/dbus/decode.h"

#include <cerrno>
#include <cstring>

namespace portmap::dbus {

namespace {

// Rewinds `m` and checks its body signature is exactly `want`.
CallStatus Expect(sd_bus_message* m, const char* want) {
  if (m == nullptr) return CallStatus::Errno(EINVAL, "no message to decode");
  int r = sd_bus_message_rewind(m, 1);
  if (r < 0) return CallStatus::Errno(r, "rewinding a reply");
  const char* sig = sd_bus_message_get_signature(m, 1);
  if (sig == nullptr || std::strcmp(sig, want) != 0) {
    return CallStatus::Errno(
        EBADMSG, std::string("reply signature '") + (sig ? sig : "") + "', want '" + want + "'");
  }
  return CallStatus::Ok();
}

CallStatus Failed(int r, const char* what) {
  return CallStatus::Errno(r, std::string("decoding ") + what);
}

// Reads an "as" at the current position.
int ReadStringArray(sd_bus_message* m, std::vector<std::string>* out) {
  int r = sd_bus_message_enter_container(m, 'a', "s");
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  const char* s = nullptr;
  while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) out->emplace_back(s);
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

int ReadPairs(sd_bus_message* m, std::vector<std::pair<std::string, std::string>>* out) {
  int r = sd_bus_message_enter_container(m, 'a', "(ss)");
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  const char* a = nullptr;
  const char* b = nullptr;
  while ((r = sd_bus_message_read(m, "(ss)", &a, &b)) > 0) out->emplace_back(a, b);
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

int ReadQuads(sd_bus_message* m, std::vector<std::array<std::string, 4>>* out) {
  int r = sd_bus_message_enter_container(m, 'a', "(ssss)");
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  const char* f[4] = {};
  while ((r = sd_bus_message_read(m, "(ssss)", &f[0], &f[1], &f[2], &f[3])) > 0) {
    out->push_back({f[0], f[1], f[2], f[3]});
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

// Reads the variant value of one a{sv} entry into `out` under `key`, or
// skips it when its type is not one this exporter uses.
int ReadSettingsValue(sd_bus_message* m, const std::string& key, Settings* out) {
  char type = 0;
  const char* contents = nullptr;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  if (type != 'v' || contents == nullptr) return -EBADMSG;
  const std::string sig = contents;
  if (sig != "s" && sig != "b" && sig != "as" && sig != "a(ss)" && sig != "a(ssss)") {
    return sd_bus_message_skip(m, "v");
  }
  r = sd_bus_message_enter_container(m, 'v', contents);
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  if (sig == "s") {
    const char* s = nullptr;
    r = sd_bus_message_read_basic(m, 's', &s);
    if (r > 0) out->strings[key] = s;
  } else if (sig == "b") {
    int b = 0;
    r = sd_bus_message_read_basic(m, 'b', &b);
    if (r > 0) out->bools[key] = b != 0;
  } else if (sig == "as") {
    r = ReadStringArray(m, &out->lists[key]);
  } else if (sig == "a(ss)") {
    r = ReadPairs(m, &out->pairs[key]);
  } else {
    r = ReadQuads(m, &out->quads[key]);
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

}  // namespace

CallStatus DecodeString(sd_bus_message* m, std::string* out) {
  if (CallStatus st = Expect(m, "s"); !st.ok()) return st;
  const char* s = nullptr;
  int r = sd_bus_message_read_basic(m, 's', &s);
  if (r <= 0) return Failed(r < 0 ? r : -EBADMSG, "a string");
  *out = s;
  return CallStatus::Ok();
}

CallStatus DecodeBool(sd_bus_message* m, bool* out) {
  if (CallStatus st = Expect(m, "b"); !st.ok()) return st;
  int b = 0;
  int r = sd_bus_message_read_basic(m, 'b', &b);
  if (r <= 0) return Failed(r < 0 ? r : -EBADMSG, "a boolean");
  *out = b != 0;
  return CallStatus::Ok();
}

CallStatus DecodeUint32(sd_bus_message* m, uint32_t* out) {
  if (CallStatus st = Expect(m, "u"); !st.ok()) return st;
  uint32_t u = 0;
  int r = sd_bus_message_read_basic(m, 'u', &u);
  if (r <= 0) return Failed(r < 0 ? r : -EBADMSG, "a uint32");
  *out = u;
  return CallStatus::Ok();
}

CallStatus DecodeVariantString(sd_bus_message* m, std::string* out) {
  if (CallStatus st = Expect(m, "v"); !st.ok()) return st;
  const char* s = nullptr;
  int r = sd_bus_message_read(m, "v", "s", &s);
  if (r <= 0) return Failed(r < 0 ? r : -EBADMSG, "a string variant");
  *out = s;
  return CallStatus::Ok();
}

CallStatus DecodeNameToLists(sd_bus_message* m, NameToLists* out) {
  if (CallStatus st = Expect(m, "a{sa{sas}}"); !st.ok()) return st;
  int r = sd_bus_message_enter_container(m, 'a', "{sa{sas}}");
  while (r > 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sas}")) > 0) {
    const char* name = nullptr;
    r = sd_bus_message_read_basic(m, 's', &name);
    if (r <= 0) break;
    auto& lists = (*out)[name];
    r = sd_bus_message_enter_container(m, 'a', "{sas}");
    while (r > 0 && (r = sd_bus_message_enter_container(m, 'e', "sas")) > 0) {
      const char* key = nullptr;
      r = sd_bus_message_read_basic(m, 's', &key);
      if (r > 0) r = ReadStringArray(m, &lists[key]);
      if (r >= 0) r = sd_bus_message_exit_container(m);  // e
      if (r >= 0) r = 1;
    }
    if (r < 0) break;
    r = sd_bus_message_exit_container(m);              // a{sas}
    if (r >= 0) r = sd_bus_message_exit_container(m);  // e
    if (r >= 0) r = 1;
  }
  if (r < 0) return Failed(r, "a{sa{sas}}");
  return CallStatus::Ok();
}

CallStatus DecodeSettings(sd_bus_message* m, Settings* out) {
  if (CallStatus st = Expect(m, "a{sv}"); !st.ok()) return st;
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  while (r > 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    const char* key = nullptr;
    r = sd_bus_message_read_basic(m, 's', &key);
    if (r <= 0) {
      r = r < 0 ? r : -EBADMSG;
      break;
    }
    r = ReadSettingsValue(m, key, out);
    if (r >= 0) r = sd_bus_message_exit_container(m);  // e
    if (r >= 0) r = 1;
  }
  if (r < 0) return Failed(r, "a{sv}");
  return CallStatus::Ok();
}

}  // namespace portmap::dbus
