#include "exporter/web/web_reloader.h"

#include <sys/stat.h>

#include <cerrno>

#include "util/logging.h"
#include "util/metrics.h"

namespace portmap {

WebConfigReloader::WebConfigReloader(std::string path, std::chrono::milliseconds poll)
    : path_(std::move(path)),
      poll_(poll),
      gauges_("portmap_web_config", "Whether the last load of --web.config.file succeeded.",
              "Timestamp of the last successful load of --web.config.file."),
      state_(std::make_shared<State>()) {
  if (!path_.empty()) watched_ = {path_};
}

std::vector<WebConfigReloader::Stamp> WebConfigReloader::StampFiles(
    const std::vector<std::string>& files) {
  std::vector<Stamp> stamps;
  for (const std::string& file : files) {
    Stamp s;
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) {
      s.err = errno;
    } else {
      s.dev = st.st_dev;
      s.ino = st.st_ino;
      s.size = st.st_size;
      s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      s.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
    }
    stamps.push_back(s);
  }
  return stamps;
}

Status WebConfigReloader::Load() {
  std::lock_guard<std::mutex> lock(load_mu_);
  Status st = LoadLocked(/*first=*/true);
  if (!st.ok() || path_.empty()) return st;
  if (tls_enabled_) {
    st = TlsServerContext::Create([this] { return Current()->tls; }, &tls_context_);
    if (!st.ok()) return st;
    LogInfo("TLS is enabled", {{"file", path_}, {"http2", "false"}});
  } else {
    LogInfo("TLS is disabled", {{"file", path_}, {"http2", "false"}});
  }
  return st;
}

Status WebConfigReloader::Reload() {
  if (path_.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(load_mu_);
  Status st = LoadLocked(/*first=*/false);
  if (st.ok()) {
    LogInfo("Reloaded web configuration", {{"file", path_}});
  } else {
    LogError("Error reloading web configuration; the previous one stays",
             {{"file", path_}, {"err", st.message()}});
  }
  return st;
}

Status WebConfigReloader::LoadLocked(bool first) {
  if (path_.empty()) {
    gauges_.Record(true);
    return Status::Ok();
  }
  // Stamped before reading, so a change while reading is seen next time.
  std::vector<Stamp> stamps = StampFiles(watched_);
  WebConfig config;
  Status st = LoadWebConfigFile(path_, &config);
  TlsMaterialPtr tls;
  if (st.ok()) {
    std::vector<std::string> files = {path_};
    for (std::string& f : config.tls.Files()) files.push_back(std::move(f));
    if (files != watched_) {
      watched_ = std::move(files);
      stamps = StampFiles(watched_);
    }
    if (!first && config.tls.enabled != tls_enabled_) {
      st = Status::Error(path_ + (config.tls.enabled
                                      ? ": tls_server_config was added, but the listening "
                                        "sockets serve plain HTTP; restart portmap_exporter to "
                                        "serve TLS"
                                      : ": tls_server_config was removed, but the listening "
                                        "sockets serve TLS; restart portmap_exporter to serve "
                                        "plain HTTP"));
    } else if (config.tls.enabled) {
      st = BuildTlsMaterial(config.tls, &tls);
      if (!st.ok()) st = Status::Error(path_ + ": tls_server_config: " + st.message());
    }
  }
  stamps_ = std::move(stamps);
  if (st.ok()) {
    if (first) tls_enabled_ = config.tls.enabled;
    if (tls_enabled_ && config.http.http2 && !http2_noted_) {
      http2_noted_ = true;
      LogInfo("http2 is not served: civetweb speaks HTTP/1.1 only", {{"file", path_}});
    }
  }
  gauges_.Record(st.ok());
  std::lock_guard<std::mutex> lock(state_mu_);
  last_check_ = std::chrono::steady_clock::now();
  if (st.ok()) state_ = std::make_shared<State>(State{std::move(config), std::move(tls)});
  return st;
}

void WebConfigReloader::MaybeCheck() {
  if (path_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (now - last_check_ < poll_) return;
    last_check_ = now;
  }
  std::unique_lock<std::mutex> lock(load_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // a load is running; use what is in force
  if (StampFiles(watched_) == stamps_) return;
  const Status st = LoadLocked(/*first=*/false);
  if (st.ok()) {
    LogInfo("Reloaded web configuration after a change", {{"file", path_}});
  } else {
    LogError("Error reloading changed web configuration; the previous one stays",
             {{"file", path_}, {"err", st.message()}});
  }
}

std::shared_ptr<const WebConfigReloader::State> WebConfigReloader::Current() {
  MaybeCheck();
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_;
}

void* WebConfigReloader::ssl_ctx() const {
  return tls_context_ == nullptr ? nullptr : tls_context_->ssl_ctx();
}

std::optional<HttpResponse> WebConfigReloader::Gate(
    const HttpRequest& request, std::vector<std::pair<std::string, std::string>>* headers) {
  if (path_.empty()) return std::nullopt;
  const std::shared_ptr<const State> state = Current();
  for (const auto& header : state->config.http.headers) headers->push_back(header);
  const auto& users = state->config.basic_auth_users;
  if (users.empty() || auth_.Check(users, request.Header("Authorization"))) return std::nullopt;
  HttpResponse r = HttpResponse::Text(401, "Unauthorized");
  r.headers.emplace_back("WWW-Authenticate", "Basic");
  return r;
}

std::vector<prometheus::MetricFamily> WebConfigReloader::Families() const {
  return gauges_.Families();
}

}  // namespace portmap
