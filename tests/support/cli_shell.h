// Running the photoatlas CLI from an end-to-end test through the shell (e2e tests only: they get
// PHOTOATLAS_BINARY from CMake). Each test binary gets its own cache folder, so tests never touch
// the user's ~/.cache.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "test_support.h"

namespace photoatlas::testing {

// Single-quoted for /bin/sh, whatever the string holds.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `photoatlas ARGS` (ARGS already quoted where needed) and collects its output.
inline CommandResult run_photoatlas(const std::string& args) {
  static TempDir cache_dir;
  const std::string command = "PHOTOATLAS_CACHE_DIR=" + quote(cache_dir.path().string()) + " " +
                              quote(PHOTOATLAS_BINARY) + " " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace photoatlas::testing
