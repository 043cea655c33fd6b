#include "collectors/docker_api.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "collectors/unix_http.h"

namespace portmap {

namespace {

using nlohmann::json;

// "[1].Ports[0].PublicPort": where in the document a value is, for errors.
std::string Where(size_t container, const char* field, size_t port = SIZE_MAX,
                  const char* key = nullptr) {
  std::string w = "[" + std::to_string(container) + "]." + field;
  if (port != SIZE_MAX) w += "[" + std::to_string(port) + "]";
  if (key != nullptr) w += std::string(".") + key;
  return w;
}

// A port number field; absent, null and (for PublicPort, which Docker omits
// when empty) 0 leave *present false.
Status PortField(const json& port, const char* key, const std::string& where, bool* present,
                 uint16_t* value) {
  *present = false;
  auto it = port.find(key);
  if (it == port.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_unsigned()) {
    // Only scalars are quoted: dump() of a deeply nested value would recurse
    // (and an error message has no room for a document anyway).
    std::string shown = it->is_primitive() ? it->dump().substr(0, 40) : it->type_name();
    return Status::Error(where + ": " + shown + " is not a port number");
  }
  uint64_t v = it->get<uint64_t>();
  if (v > 65535) return Status::Error(where + ": " + std::to_string(v) + " is out of range");
  *value = static_cast<uint16_t>(v);
  *present = v != 0;
  return Status::Ok();
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line
// 1, column 5: syntax error ..."; the byte offset replaces line and column.
std::string ParseErrorText(const json::parse_error& e) {
  std::string_view text = e.what();
  size_t colon = text.find(": ");
  if (colon != std::string_view::npos) text.remove_prefix(colon + 2);
  return "parse error at byte " + std::to_string(e.byte) + ": " + std::string(text);
}

Status ParseContainer(const json& c, size_t i, std::vector<DockerApiPort>* out) {
  if (!c.is_object()) {
    return Status::Error("[" + std::to_string(i) + "] is " + c.type_name() + ", not an object");
  }
  std::string name;
  auto names = c.find("Names");
  if (names != c.end() && !names->is_null()) {
    if (!names->is_array()) return Status::Error(Where(i, "Names") + " is not an array");
    if (!names->empty()) {
      if (!names->front().is_string()) {
        return Status::Error(Where(i, "Names") + "[0] is not a string");
      }
      name = names->front().get<std::string>();
      if (!name.empty() && name.front() == '/') name.erase(0, 1);
    }
  }
  auto id = c.find("Id");
  if (name.empty() && id != c.end() && id->is_string()) {
    name = id->get<std::string>().substr(0, 12);  // what `docker ps` shows without a name
  }
  auto ports = c.find("Ports");
  if (ports == c.end() || ports->is_null()) return Status::Ok();
  if (!ports->is_array()) return Status::Error(Where(i, "Ports") + " is not an array");
  for (size_t j = 0; j < ports->size(); ++j) {
    const json& p = (*ports)[j];
    if (!p.is_object()) return Status::Error(Where(i, "Ports", j) + " is not an object");
    DockerApiPort port;
    bool published = false, has_private = false;
    Status s =
        PortField(p, "PublicPort", Where(i, "Ports", j, "PublicPort"), &published, &port.host_port);
    if (!s.ok()) return s;
    if (!published) continue;  // exposed only: nothing listens on the host
    s = PortField(p, "PrivatePort", Where(i, "Ports", j, "PrivatePort"), &has_private,
                  &port.container_port);
    if (!s.ok()) return s;
    if (!has_private) return Status::Error(Where(i, "Ports", j, "PrivatePort") + " is missing");
    auto type = p.find("Type");
    if (type == p.end() || !type->is_string() || type->get<std::string>().empty()) {
      return Status::Error(Where(i, "Ports", j, "Type") + " is not a protocol name");
    }
    port.proto = type->get<std::string>();
    auto ip = p.find("IP");
    if (ip != p.end() && !ip->is_null()) {
      if (!ip->is_string()) return Status::Error(Where(i, "Ports", j, "IP") + " is not a string");
      port.host_ip = ip->get<std::string>();
    }
    port.container = name;
    out->push_back(std::move(port));
  }
  return Status::Ok();
}

}  // namespace

Status ParseContainersJson(std::string_view body, std::vector<DockerApiPort>* out) {
  out->clear();
  json doc;
  try {
    doc = json::parse(body.data(), body.data() + body.size());
  } catch (const json::parse_error& e) {
    return Status::Error("containers JSON: " + ParseErrorText(e));
  } catch (const json::exception& e) {
    // Not a syntax error, yet thrown by parse: a number past double's range
    // ("1e400": out_of_range.406, found by readers_fuzz).
    std::string_view text = e.what();
    if (const size_t end = text.find("] "); end != std::string_view::npos) {
      text.remove_prefix(end + 2);
    }
    return Status::Error("containers JSON: " + std::string(text));
  }
  if (!doc.is_array()) {
    return Status::Error(std::string("containers JSON: top level is ") + doc.type_name() +
                         ", not an array");
  }
  for (size_t i = 0; i < doc.size(); ++i) {
    Status s = ParseContainer(doc[i], i, out);
    if (!s.ok()) {
      out->clear();
      return Status::Error("containers JSON: " + s.message());
    }
  }
  return Status::Ok();
}

Status DockerApiGet(const std::string& socket_path, const std::string& path,
                    Clock::time_point deadline, std::string* body) {
  return UnixHttpGet(socket_path, path,
                     {.name = "docker API", .host = "docker", .accept = "application/json"},
                     deadline, body);
}

Status ReadDockerApiPorts(const std::string& socket_path, Clock::time_point deadline,
                          std::vector<DockerApiPort>* out) {
  out->clear();
  std::string body;
  Status s = DockerApiGet(socket_path, "/containers/json", deadline, &body);
  if (!s.ok()) return s;
  s = ParseContainersJson(body, out);
  if (!s.ok()) return Status::Error("GET /containers/json on " + socket_path + ": " + s.message());
  return Status::Ok();
}

}  // namespace portmap
