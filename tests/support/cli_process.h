// Running the photoatlas executable from a test: to completion (output captured), or in the
// background so a test can watch it and kill it. Header-only (POSIX).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace photoatlas::testing {

struct CliResult {
  int exit_code = -1;  // -1: did not exit normally (signal)
  std::string output;  // stdout and stderr together
};

// A child process whose stdout+stderr go to `log_file`. The destructor kills it if still running.
class ChildProcess {
 public:
  // `env` entries are "NAME=value" added to the environment of the child.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log_file)
      : log_file_(log_file) {
    // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      bool overridden = false;
      for (const auto& mine : env) overridden = overridden || mine.substr(0, mine.find('=')) == name;
      if (!overridden) environment.push_back(entry);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> envp, args;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
  }
  ~ChildProcess() {
    if (running()) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() {
    if (exited_) return false;
    int status = 0;
    const pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) record(status);
    return !exited_;
  }
  void kill_now() { kill(pid_, SIGKILL); }
  // Waits for exit; returns the exit code (-1 when killed by a signal).
  int wait() {
    while (!exited_) {
      int status = 0;
      const pid_t got = waitpid(pid_, &status, 0);
      if (got == pid_) record(status);
      else if (got < 0 && errno != EINTR) break;
    }
    return exit_code_;
  }
  bool killed_by_signal() const { return signalled_; }
  std::string output() const {
    std::ifstream in(log_file_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  void record(int status) {
    exited_ = true;
    signalled_ = WIFSIGNALED(status);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string log_file_;
  pid_t pid_ = -1;
  bool exited_ = false;
  bool signalled_ = false;
  int exit_code_ = -1;
};

// Runs to completion, with a wall-clock limit (SIGKILL after `timeout`: exit_code -1, and the
// output ends with a note).
inline CliResult run_cli(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& log_file,
                         std::chrono::seconds timeout = std::chrono::seconds(600)) {
  ChildProcess child(argv, env, log_file);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (child.running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CliResult result;
  const bool timed_out = child.running();
  if (timed_out) child.kill_now();
  result.exit_code = child.wait();
  result.output = child.output();
  if (timed_out) result.output += "\n[test: killed after the time limit]\n";
  return result;
}

}  // namespace photoatlas::testing
