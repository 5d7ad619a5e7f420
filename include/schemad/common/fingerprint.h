// Stable, non-cryptographic content fingerprints (128-bit FNV-1a, hex).
//
//   Fingerprinter fp; fp.Add("users"); fp.Add("id uuid"); fp.Hex();
//
// Equal inputs give equal fingerprints across processes and machines. Used
// to detect change (registry version, live schema), not to resist attack.
// Thread-compatible.
#ifndef SCHEMAD_COMMON_FINGERPRINT_H_
#define SCHEMAD_COMMON_FINGERPRINT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace schemad {

class Fingerprinter {
 public:
  // Adds `data` followed by a separator, so ("ab","c") != ("a","bc").
  void Add(absl::string_view data);
  // Returns 32 lowercase hex digits.
  std::string Hex() const;

 private:
  void Mix(unsigned char byte);
  uint64_t a_ = 0xcbf29ce484222325ULL;
  uint64_t b_ = 0x84222325cbf29ce4ULL;
};

}  // namespace schemad

#endif  // SCHEMAD_COMMON_FINGERPRINT_H_
