#include "schemad/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace schemad {

// A path as errors show it: a file name holding a line break must not split
// its error in two.
std::string ShownPath(const std::string& path) {
  return absl::StrReplaceAll(path, {{"\n", "\\n"}, {"\r", "\\r"}});
}

// "path: what: <strerror>", with the canonical code of `error_number`.
absl::Status PathError(int error_number, const std::string& path, absl::string_view what) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(ShownPath(path), ": ", what));
}

namespace {

absl::Status NotRegularFile(const std::string& path, mode_t mode, absl::string_view what) {
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISSOCK(mode) ? "a socket"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                                      : "not a regular file";
  return absl::InvalidArgumentError(
      absl::StrCat(ShownPath(path), ": is ", kind, "; a ", what, " must be a regular file"));
}

}  // namespace

absl::Status SymlinkLoopError(const std::string& path) {
  return absl::InvalidArgumentError(
      absl::StrCat(ShownPath(path), ": is a symbolic link loop (or a chain of too many links)"));
}

namespace {

// Closes a file descriptor on every return path.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;
  ~FileCloser() { ::close(fd_); }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                            absl::string_view what) {
  struct stat link;
  if (::lstat(path.c_str(), &link) != 0) return PathError(errno, path, "cannot be read");
  struct stat target;
  if (::stat(path.c_str(), &target) != 0) {
    const int error = errno;
    if (error == ELOOP) return SymlinkLoopError(path);
    if (S_ISLNK(link.st_mode) && (error == ENOENT || error == ENOTDIR)) {
      return absl::InvalidArgumentError(absl::StrCat(
          ShownPath(path), ": is a dangling symbolic link (its target does not exist)"));
    }
    return PathError(error, path, "cannot be read");
  }
  // Refused before opening: opening a FIFO would wait for a writer.
  if (!S_ISREG(target.st_mode)) return NotRegularFile(path, target.st_mode, what);
  // The entry may be swapped between the check and the open: O_NONBLOCK
  // makes opening a FIFO return at once (it has no effect on a regular
  // file), and the opened descriptor is checked again.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    if (error == ELOOP) return SymlinkLoopError(path);
    return PathError(error, path, "cannot be opened");
  }
  FileCloser closer(fd);
  struct stat opened;
  if (::fstat(fd, &opened) != 0) return PathError(errno, path, "cannot be read");
  if (!S_ISREG(opened.st_mode)) return NotRegularFile(path, opened.st_mode, what);
  // Sizes from stat are not trusted (/proc files report 0): read at most
  // one byte past the limit to tell a file at the limit from a larger one.
  std::string content;
  char buffer[1 << 16];
  while (content.size() <= max_bytes) {
    const size_t want = std::min(sizeof(buffer), max_bytes + 1 - content.size());
    const ssize_t n = ::read(fd, buffer, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PathError(errno, path, "cannot be read");
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  if (content.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(ShownPath(path), ": file is larger than ",
                                                   max_bytes, " bytes; a ", what,
                                                   " is limited to that size"));
  }
  return content;
}

std::optional<size_t> FirstInvalidUtf8(absl::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The sequence's length and the range of its second byte (which rules
    // out overlong forms, surrogates and code points above U+10FFFF).
    size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    if (byte(i + 1) < low || byte(i + 1) > high) return i;
    for (size_t k = 2; k < length; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    }
    i += length;
  }
  return std::nullopt;
}

std::string ValidUtf8(absl::string_view text) {
  std::string out;
  while (true) {
    const std::optional<size_t> bad = FirstInvalidUtf8(text);
    if (!bad.has_value()) break;
    absl::StrAppend(&out, text.substr(0, *bad), "\\x",
                    absl::Hex(static_cast<unsigned char>(text[*bad]), absl::kZeroPad2));
    text.remove_prefix(*bad + 1);
  }
  absl::StrAppend(&out, text);
  return out;
}

}  // namespace schemad
