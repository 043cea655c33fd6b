// HTTP basic authentication against basic_auth_users (web_config.h), as
// exporter-toolkit does it: bcrypt hashes verified with libcrypt's crypt_rn
// ($2a$, $2b$, $2y$), results compared in constant time.
//
// bcrypt is slow on purpose (~50-100 ms at cost 10), and Prometheus sends the
// same credentials at every scrape, so a successful check is remembered: the
// key is a SHA-256 of the user, the password and the stored hash, so neither
// the password nor anything that checks it offline is kept, and a changed
// hash (a reload) misses the cache.  Failures are not remembered: each costs
// a bcrypt, one at a time (a flood of wrong passwords takes one core, and
// cached scrapes still pass).  An unknown user costs a bcrypt too, against
// another user's hash whose answer is then ignored, so the time taken does
// not say which users exist.
//
// Thread safety: Check may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace portmap {

// Splits an Authorization header value "Basic base64(user:password)" (the
// scheme case-insensitive, as Go's Request.BasicAuth); false when it is not
// that.
bool ParseBasicAuthorization(std::string_view header, std::string* user, std::string* password);

// Whether crypt(password, hash) == hash, compared in constant time.
bool BcryptMatches(const std::string& password, const std::string& hash);

class BasicAuthenticator {
 public:
  // Successes remembered at most; beyond, the cache starts over.
  static constexpr size_t kMaxCached = 100;

  // Whether `authorization` names a user in `users` (user -> bcrypt hash)
  // with the right password.
  bool Check(const std::map<std::string, std::string>& users, std::string_view authorization);

  size_t cached() const;

 private:
  mutable std::mutex cache_mu_;
  std::unordered_set<std::string> cache_;  // GUARDED_BY(cache_mu_): SHA-256 digests
  std::mutex bcrypt_mu_;                   // one bcrypt at a time
};

}  // namespace portmap
