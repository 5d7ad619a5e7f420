#include "schemad/common/fingerprint.h"

#include "absl/strings/str_format.h"

namespace schemad {

void Fingerprinter::Mix(unsigned char byte) {
  a_ = (a_ ^ byte) * 0x100000001b3ULL;
  // A second lane with another prime and a rotation, so that the 128 bits
  // are not two copies of the same 64.
  b_ = ((b_ ^ byte) * 0x00000100000001b3ULL) ^ (b_ >> 29);
}

void Fingerprinter::Add(absl::string_view data) {
  for (unsigned char c : data) Mix(c);
  Mix(0xff);
  Mix(0x00);
}

std::string Fingerprinter::Hex() const { return absl::StrFormat("%016x%016x", a_, b_); }

}  // namespace schemad
