#include "exporter/web/web_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace portmap {

namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding, as Go's base64.StdEncoding (which
// Request.BasicAuth uses); false on anything else.
bool DecodeBase64(std::string_view in, std::string* out) {
  if (in.size() % 4 != 0) return false;
  out->clear();
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[k] = Base64Value(c)) < 0) return false;
    }
    const unsigned bits =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

// SHA-256 over length-prefixed parts, so ("ab","c") and ("a","bc") differ.
std::string CacheKey(const std::string& user, const std::string& password,
                     const std::string& hash) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1;
  for (const std::string* part : {&user, &password, &hash}) {
    const uint64_t size = part->size();
    ok = ok && EVP_DigestUpdate(md, &size, sizeof size) == 1 &&
         EVP_DigestUpdate(md, part->data(), part->size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(md, digest, &length) == 1;
  EVP_MD_CTX_free(md);
  return ok ? std::string(reinterpret_cast<char*>(digest), length) : std::string();
}

}  // namespace

bool ParseBasicAuthorization(std::string_view header, std::string* user, std::string* password) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  std::string decoded;
  if (!DecodeBase64(header.substr(kScheme.size()), &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return true;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  // crypt_data is 32 KiB: not for a worker thread's stack.
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (result == nullptr || result[0] == '*') return false;  // crypt's failure tokens
  const size_t n = std::strlen(result);
  // Lengths are public (every bcrypt hash is 60 characters); the bytes not.
  return n == hash.size() && CRYPTO_memcmp(result, hash.data(), n) == 0;
}

bool BasicAuthenticator::Check(const std::map<std::string, std::string>& users,
                               std::string_view authorization) {
  std::string user, password;
  if (users.empty() || !ParseBasicAuthorization(authorization, &user, &password)) return false;
  // A password with a NUL could not be given to crypt(); nobody's has one.
  if (password.find('\0') != std::string::npos) return false;
  const auto it = users.find(user);
  const bool known = it != users.end();
  const std::string& hash = known ? it->second : users.begin()->second;
  const std::string key = CacheKey(user, password, hash);
  if (known && !key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.count(key) != 0) return true;
  }
  bool match;
  {
    std::lock_guard<std::mutex> lock(bcrypt_mu_);
    match = BcryptMatches(password, hash);
  }
  if (!known || !match) return false;
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_.insert(key);
  }
  return true;
}

size_t BasicAuthenticator::cached() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

}  // namespace portmap
