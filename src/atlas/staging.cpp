#include "atlas/staging.h"

#include <random>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace photoatlas::atlas {

namespace {
std::string random_suffix() {
  std::random_device rd;
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) s += digits[rd() % 16];
  return s;
}
}  // namespace

StagingDir::StagingDir(const fs::path& target) : target_(fs::absolute(target).lexically_normal()) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  const fs::path parent = target_.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw std::runtime_error("cannot create output folder " + parent.string() + ": " + ec.message());
  if (fs::exists(target_) && !fs::is_directory(target_))
    throw std::runtime_error("output path exists and is not a folder: " + target_.string());
  for (int attempt = 0; attempt < 20; ++attempt) {
    fs::path candidate = parent / ("." + target_.filename().string() + ".partial-" + random_suffix());
    if (fs::create_directory(candidate, ec)) {
      staging_ = candidate;
      return;
    }
    if (ec) throw std::runtime_error("cannot write in " + parent.string() + ": " + ec.message());
  }
  throw std::runtime_error("cannot create a staging folder in " + parent.string());
}

StagingDir::~StagingDir() {
  if (!committed_ && !staging_.empty()) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void StagingDir::commit() {
  std::error_code ec;
  fs::path previous;
  if (fs::exists(target_, ec)) {
    previous = target_.parent_path() / ("." + target_.filename().string() + ".previous-" + random_suffix());
    fs::rename(target_, previous, ec);
    if (ec) throw std::runtime_error("cannot replace " + target_.string() + ": " + ec.message());
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    if (!previous.empty()) fs::rename(previous, target_);  // put the old atlas back
    throw std::runtime_error("cannot move the new atlas into " + target_.string() + ": " + ec.message());
  }
  committed_ = true;
  if (!previous.empty()) fs::remove_all(previous, ec);
}

}  // namespace photoatlas::atlas
