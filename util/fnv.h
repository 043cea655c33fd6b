// Fnv1a: a 64-bit FNV-1a hash, for telling "the same as last time" from
// "changed" cheaply (the verdict's fingerprints of rules and sockets).  A
// change detector, not a defence against forgery.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portmap {

class Fnv1a {
 public:
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * kPrime;
  }
  // The bytes and a terminating 0, so "ab"+"c" and "a"+"bc" differ.
  void Add(std::string_view s) {
    Add(s.data(), s.size());
    constexpr uint8_t kEnd = 0;
    Add(&kEnd, 1);
  }
  uint64_t value() const { return h_; }

 private:
  static constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t h_ = 14695981039346656037ULL;
};

}  // namespace portmap
