#include "features/download.h"

#include <fstream>
#include <stdexcept>

#include <httplib.h>

#include "features/sha256.h"

namespace photoatlas::features {

namespace fs = std::filesystem;

std::pair<std::string, std::string> split_url(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("not a URL: " + url);
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") throw std::invalid_argument("only http and https URLs: " + url);
  const std::size_t path_start = url.find('/', scheme_end + 3);
  const std::string host = url.substr(0, path_start);
  if (host.size() <= scheme_end + 3) throw std::invalid_argument("no host in URL: " + url);
  return {host, path_start == std::string::npos ? "/" : url.substr(path_start)};
}

namespace {

std::uint64_t file_size_or_zero(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  return ec ? 0 : size;
}

// Total length from "Content-Range: bytes a-b/total".
std::uint64_t content_range_total(const httplib::Response& response) {
  const std::string range = response.get_header_value("Content-Range");
  const std::size_t slash = range.rfind('/');
  if (slash == std::string::npos || range.substr(slash + 1) == "*") return 0;
  try {
    return std::stoull(range.substr(slash + 1));
  } catch (...) {
    return 0;
  }
}

}  // namespace

DownloadResult download_file(const std::string& url, const fs::path& dest, const DownloadOptions& options) {
  const auto [host, path] = split_url(url);
  if (!dest.parent_path().empty()) fs::create_directories(dest.parent_path());
  const fs::path part = dest.string() + ".part";
  DownloadResult result;
  std::string last_error;
  bool complete = false;
  for (int attempt = 0; attempt < std::max(1, options.attempts) && !complete; ++attempt) {
    httplib::Client client(host);
    client.set_follow_location(true);
    client.set_connection_timeout(options.timeout_seconds, 0);
    client.set_read_timeout(options.timeout_seconds, 0);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (fs::exists("/etc/ssl/certs/ca-certificates.crt")) client.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
    client.enable_server_certificate_verification(true);
#endif
    const std::uint64_t have = file_size_or_zero(part);
    httplib::Headers headers;
    if (have > 0) headers.emplace("Range", "bytes=" + std::to_string(have) + "-");
    result.resumed_from = have;
    ++result.attempts;

    std::ofstream out;
    std::uint64_t offset = 0, total = 0;
    int status = 0;
    bool range_done = false;  // 416: the part already holds the whole file
    const auto on_response = [&](const httplib::Response& response) {
      status = response.status;
      if (status == 206 && have > 0) {
        offset = have;
        total = content_range_total(response);
        out.open(part, std::ios::binary | std::ios::app);
      } else if (status == 200) {
        offset = 0;
        result.resumed_from = 0;
        if (response.has_header("Content-Length")) total = std::stoull(response.get_header_value("Content-Length"));
        out.open(part, std::ios::binary | std::ios::trunc);
      } else {
        if (status == 416 && have > 0) range_done = true;
        return false;
      }
      return static_cast<bool>(out);
    };
    std::uint64_t received = 0;
    const auto on_data = [&](const char* data, std::size_t size) {
      out.write(data, static_cast<std::streamsize>(size));
      received += size;
      if (options.progress) options.progress(offset + received, total);
      return static_cast<bool>(out);
    };
    const httplib::Result response = client.Get(path, headers, on_response, on_data);
    const bool opened = out.is_open();
    out.close();
    if ((status == 200 || status == 206) && !opened) throw std::runtime_error("cannot write " + part.string());
    if (range_done) {
      complete = true;
    } else if (response && (response->status == 200 || response->status == 206)) {
      complete = total == 0 || file_size_or_zero(part) == total;
      if (!complete) last_error = "the server sent " + std::to_string(file_size_or_zero(part)) + " of " + std::to_string(total) + " bytes";
    } else if (status != 0 && status != 200 && status != 206) {
      throw std::runtime_error(url + ": HTTP " + std::to_string(status));  // no point in retrying
    } else {
      last_error = "network error: " + httplib::to_string(response.error()) + " after " +
                   std::to_string(file_size_or_zero(part)) + " bytes";
    }
  }
  if (!complete)
    throw std::runtime_error(url + ": " + last_error + " (run the same command again to resume)");

  result.bytes = file_size_or_zero(part);
  result.sha256 = sha256_file(part);
  if (!options.expected_sha256.empty() && result.sha256 != options.expected_sha256) {
    fs::remove(part);
    throw std::runtime_error(url + ": sha256 mismatch: expected " + options.expected_sha256 + ", got " + result.sha256 +
                             " (the download was deleted)");
  }
  fs::rename(part, dest);
  return result;
}

}  // namespace photoatlas::features
