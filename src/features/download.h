// HTTP(S) download of one file with resume: bytes arrive in <dest>.part; a later call (or the next
// attempt of this one) asks for the rest with a Range request, then the whole file is hashed,
// checked against an expected sha256 when one is given, and renamed into place.
// HTTPS uses cpp-httplib's OpenSSL build (Debian's libcpp-httplib is built with it) and the
// system's CA certificates; redirects (GitHub -> its LFS media host) are followed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace photoatlas::features {

struct DownloadOptions {
  std::string expected_sha256;  // lowercase hex; empty = accept any (the sha256 seen is returned)
  int attempts = 3;             // tries in this call, each resuming where the last one stopped
  int timeout_seconds = 60;     // connect / read timeout
  // Called with bytes received so far (including a resumed part) and the total when known (else 0).
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct DownloadResult {
  std::string sha256;         // of the complete file
  std::uint64_t bytes = 0;    // its size
  std::uint64_t resumed_from = 0;  // bytes already there when the last attempt started (0 = full download)
  int attempts = 0;           // HTTP requests made
};

// Throws std::runtime_error with the reason (HTTP status, network error, sha256 mismatch). After a
// network error the partial file stays, so running the same download again resumes it; after a
// sha256 mismatch it is deleted.
DownloadResult download_file(const std::string& url, const std::filesystem::path& dest, const DownloadOptions& options = {});

// Splits "http(s)://host[:port]/path?query" into "scheme://host[:port]" and "/path?query".
// Throws std::invalid_argument for anything else.
std::pair<std::string, std::string> split_url(const std::string& url);

}  // namespace photoatlas::features
