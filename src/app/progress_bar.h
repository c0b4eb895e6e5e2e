// Progress display on stderr: a live bar with ETA on a terminal, sparse plain lines otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace photoatlas::app {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool quiet);
  void start(const std::string& stage, std::size_t total);
  void update(const std::string& stage, std::size_t done, std::size_t total);
  void finish(const std::string& stage, double seconds);
  void message(const std::string& text);

 private:
  void clear_line();
  bool quiet_;
  bool terminal_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
  int last_percent_logged_ = -1;
  bool line_dirty_ = false;
};

}  // namespace photoatlas::app
