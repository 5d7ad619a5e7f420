// Reading files a person points schemad at (registry files, the database
// URL file) without trusting them: links resolved but loops and dangling
// links named, nothing but regular files opened, sizes bounded by reading,
// never by stat.
//
//   absl::StatusOr<std::string> text = ReadBoundedFile(path, 64 << 10, "URL file");
//
// Thread-safe.
#ifndef SCHEMAD_COMMON_FILE_H_
#define SCHEMAD_COMMON_FILE_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace schemad {

// Returns the contents of `path`, following symbolic links. INVALID_ARGUMENT
// naming `path` when it is a dangling link or a link loop, not a regular
// file once links are resolved (a FIFO is refused without blocking), or
// larger than `max_bytes`; other I/O errors with the code of their errno.
// `what` names the file in messages ("registry file").
absl::StatusOr<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                            absl::string_view what);

// `path` as errors show it: a line break in a name cannot split an error.
std::string ShownPath(const std::string& path);

// "path: what: <strerror>", with the canonical code of `error_number`.
absl::Status PathError(int error_number, const std::string& path, absl::string_view what);

// INVALID_ARGUMENT: `path` is a symbolic link loop.
absl::Status SymlinkLoopError(const std::string& path);

// The 0-based offset of the first byte of `text` that is not part of a
// well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), or nothing when all of `text` is UTF-8.
// Registry files are UTF-8: PostgreSQL refuses other bytes in a UTF8
// database, and protobuf in a string field.
std::optional<size_t> FirstInvalidUtf8(absl::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 written as
// \xNN: for text that goes into a message (a protobuf string must be UTF-8).
std::string ValidUtf8(absl::string_view text);

}  // namespace schemad

#endif  // SCHEMAD_COMMON_FILE_H_
