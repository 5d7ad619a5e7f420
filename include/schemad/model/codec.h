// A compact binary form of the model, for the canonical models schemad
// keeps in the database (a restarted schemad never re-canonicalizes a
// registry it has seen on the same server).
//
//   std::string bytes = EncodeSchema(schema);
//   absl::StatusOr<Schema> back = DecodeSchema(bytes);  // == schema, field for field
//
// Every field of every struct is written (one field list per struct,
// shared by the writer and the reader). kModelCodecVersion changes with
// the model: an encoding of another version is refused, never misread.
// Thread-safe: pure functions.
#ifndef SCHEMAD_MODEL_CODEC_H_
#define SCHEMAD_MODEL_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "schemad/model/model.h"

namespace schemad {

// Bump whenever a field is added to, removed from or reinterpreted in the
// model (model.h).
inline constexpr int kModelCodecVersion = 7;

std::string EncodeSchema(const Schema& schema);

// INVALID_ARGUMENT for another version, a truncated or corrupt encoding.
absl::StatusOr<Schema> DecodeSchema(absl::string_view encoded);

}  // namespace schemad

#endif  // SCHEMAD_MODEL_CODEC_H_
