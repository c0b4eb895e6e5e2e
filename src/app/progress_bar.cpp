#include "app/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace photoatlas::app {

namespace {
std::string format_seconds(double s) {
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(text, sizeof text, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) / 60) % 60);
  }
  return text;
}
}  // namespace

ProgressDisplay::ProgressDisplay(bool quiet) : quiet_(quiet), terminal_(isatty(STDERR_FILENO) != 0) {}

void ProgressDisplay::clear_line() {
  if (line_dirty_) {
    std::fputs("\r\033[2K", stderr);
    line_dirty_ = false;
  }
}

void ProgressDisplay::start(const std::string& stage, std::size_t total) {
  std::lock_guard lock(mutex_);
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  last_percent_logged_ = -1;
  if (quiet_) return;
  if (!terminal_) std::fprintf(stderr, "%s ...\n", stage.c_str());
}

void ProgressDisplay::update(const std::string& stage, std::size_t done, std::size_t total) {
  std::lock_guard lock(mutex_);
  if (quiet_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  if (terminal_) {
    if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '-');
    std::string eta = fraction > 0.0 && done < total ? " ETA " + format_seconds(elapsed * (1.0 / fraction - 1.0)) : "";
    std::fprintf(stderr, "\r\033[2K%-24s [%s] %zu/%zu %s%s", stage.c_str(), bar.c_str(), done, total,
                 format_seconds(elapsed).c_str(), eta.c_str());
    std::fflush(stderr);
    line_dirty_ = true;
  } else {
    // Logs and CI: a line every 10% at most and every 5 seconds at most, so short stages stay quiet.
    const int percent = static_cast<int>(fraction * 100.0);
    if (done >= total || percent / 10 == last_percent_logged_ / 10) return;
    if (now - last_draw_ < std::chrono::seconds(5) && last_draw_ != std::chrono::steady_clock::time_point{}) return;
    if (now - started_ < std::chrono::seconds(5)) return;
    last_draw_ = now;
    last_percent_logged_ = percent;
    std::string eta = fraction > 0.0 ? ", ETA " + format_seconds(elapsed * (1.0 / fraction - 1.0)) : "";
    std::fprintf(stderr, "  %s: %zu/%zu (%d%%)%s\n", stage.c_str(), done, total, percent, eta.c_str());
  }
}

void ProgressDisplay::finish(const std::string& stage, double seconds) {
  std::lock_guard lock(mutex_);
  if (quiet_) return;
  clear_line();
  std::fprintf(stderr, "%-24s done in %s\n", stage.c_str(), format_seconds(seconds).c_str());
}

void ProgressDisplay::message(const std::string& text) {
  std::lock_guard lock(mutex_);
  if (quiet_) return;
  clear_line();
  std::fprintf(stderr, "  %s\n", text.c_str());
}

}  // namespace photoatlas::app
