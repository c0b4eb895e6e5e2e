// Atomic output folders: everything is written into a hidden sibling folder, which replaces
// the target only when complete, so an interrupted run never leaves a half-written atlas.
#pragma once

#include <filesystem>

namespace photoatlas::atlas {

class StagingDir {
 public:
  // Creates `<parent>/.<name>.partial-<random>` next to `target`. Throws with a clear
  // message when the parent cannot be created or written.
  explicit StagingDir(const std::filesystem::path& target);
  ~StagingDir();  // removes the staging folder unless committed
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }

  // Moves the staging folder into place. An existing target is moved aside first and removed
  // only after the new folder is in place.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

}  // namespace photoatlas::atlas
