// Whole-file reads and atomic whole-file writes (POSIX).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "mmoe/converter/io.h"

namespace mmoe::converter {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

[[noreturn]] void Fail(const std::string& path, const std::string& what, int err) {
  throw ConvertError(path + ": " + what + ": " + ErrnoText(err));
}

// A name that no concurrent writer (thread or process) picks: pid + a process-wide counter.
// O_EXCL below still guards against leftovers from a crashed run.
std::string TempPathFor(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path target(path);
  const std::string name = "." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(counter++);
  return (target.parent_path() / name).string();
}

// Writes everything, retrying on EINTR and partial writes. Returns 0 or the errno.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Best effort: makes the rename itself durable. Some file systems refuse fsync on a directory,
// and the data is already safe, so failures are ignored.
void SyncParentDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string ReadFileBytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) Fail(path, "cannot open", errno);
  std::string bytes;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
  // fread on a directory fails with EISDIR; report it rather than returning empty content.
  const int err = errno;
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) Fail(path, "cannot read", err);
  return bytes;
}

void WriteFileAtomic(const std::string& path, const void* data, size_t size) {
  const std::string temp = TempPathFor(path);
  // 0666 so the umask decides the final permissions, as for any newly created file.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) Fail(path, "cannot create temporary file " + temp, errno);

  int err = WriteAll(fd, static_cast<const char*>(data), size);
  const char* step = "write failed";
  if (err == 0 && ::fsync(fd) != 0) {
    err = errno;
    step = "fsync failed";
  }
  // close() can report a deferred write error (e.g. NFS quota), so it is checked too.
  if (::close(fd) != 0 && err == 0) {
    err = errno;
    step = "close failed";
  }
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    step = "rename failed";
  }
  if (err != 0) {
    ::unlink(temp.c_str());
    Fail(path, step, err);
  }
  SyncParentDirectory(path);
}

}  // namespace mmoe::converter
