// --web.config.file in a running exporter: the first load, reloads, and what
// each request and TLS handshake sees (web_config.h, web_tls.h, web_auth.h).
//
// Reloads happen on SIGHUP and POST /-/reload (with --config.file's), and
// when the file, or a certificate, key or client CA file it names, changes.
// Changes are noticed on demand: the first request or TLS handshake after at
// least a second stats those files (device, inode, size, mtime) and reloads
// if any differs.  No thread polls: an idle exporter stays idle, and the
// connection that would use the new material is the one that looks for it,
// which is what exporter-toolkit's read-per-request gives, at one stat()
// per file per second instead of a parse per request.  A file that changed
// but fails is logged once (per change) and the last good configuration
// stays, with portmap_web_config_last_reload_successful 0.
//
// Whether TLS is on is fixed at the first load: civetweb's sockets are HTTPS
// or HTTP for the process' life, so a reload that adds or removes
// tls_server_config is refused ("restart to ...") and the old configuration
// stays, as exporter-toolkit, which decides at start too, effectively does.
//
// Thread safety: every method may be called concurrently; loads run one at a
// time, and a request never waits for one (it uses the configuration in
// force).
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/web/http_server.h"
#include "exporter/web/web_auth.h"
#include "exporter/web/web_config.h"
#include "exporter/web/web_tls.h"
#include "util/reload_gauges.h"
#include "util/status.h"

namespace portmap {

class WebConfigReloader {
 public:
  // `path` "" (no --web.config.file): plain HTTP, no authentication.
  explicit WebConfigReloader(std::string path,
                             std::chrono::milliseconds poll = std::chrono::seconds(1));

  // The first load, at start-up: the caller reports an error and exits 2.
  // Logs whether TLS is on.
  Status Load();
  // A reload: logged either way; on error the configuration in force stays.
  Status Reload();

  // For HttpServerOptions::ssl_ctx: the TLS context when the first load
  // turned TLS on, else nullptr.  Lives as long as this object.
  void* ssl_ctx() const;

  // HttpServerOptions::gate: the configured headers, and a 401 with
  // WWW-Authenticate: Basic unless basic_auth_users is empty or the request
  // names one of them with the right password.
  std::optional<HttpResponse> Gate(const HttpRequest& request,
                                   std::vector<std::pair<std::string, std::string>>* headers);

  // portmap_web_config_last_reload_successful and
  // portmap_web_config_last_reload_success_timestamp_seconds.
  std::vector<prometheus::MetricFamily> Families() const;

 private:
  struct State {
    WebConfig config;
    TlsMaterialPtr tls;  // null when TLS is off
  };
  struct Stamp {
    int err = 0;  // stat's errno, 0 when it succeeded
    uint64_t dev = 0, ino = 0;
    int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  std::shared_ptr<const State> Current();  // after a due change check
  void MaybeCheck();
  Status LoadLocked(bool first);  // needs load_mu_
  static std::vector<Stamp> StampFiles(const std::vector<std::string>& files);

  const std::string path_;
  const std::chrono::milliseconds poll_;
  ReloadGauges gauges_;
  BasicAuthenticator auth_;
  std::unique_ptr<TlsServerContext> tls_context_;  // set by the first load only

  std::mutex load_mu_;                // one load at a time
  bool tls_enabled_ = false;          // GUARDED_BY(load_mu_), fixed by the first load
  bool http2_noted_ = false;          // GUARDED_BY(load_mu_)
  std::vector<std::string> watched_;  // GUARDED_BY(load_mu_): the file, then its TLS files
  std::vector<Stamp> stamps_;         // GUARDED_BY(load_mu_): as at the last load
  mutable std::mutex state_mu_;
  std::shared_ptr<const State> state_;                // GUARDED_BY(state_mu_)
  std::chrono::steady_clock::time_point last_check_;  // GUARDED_BY(state_mu_)
};

}  // namespace portmap
