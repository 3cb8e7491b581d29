// Running commands from tests: foreground with a deadline, or in the background with a
// guaranteed kill (whole process group) when the handle goes away, also after a failed assertion.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

namespace wb::test {

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed, -1 when it could not start
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs `/bin/sh -c command`; kills its process group at the deadline.
CommandResult run(const std::string& command,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

class Process {
 public:
  Process() = default;
  // Starts `/bin/sh -c command` in a new process group; stdout+stderr go to log_path.
  static Process spawn(const std::string& command, const std::string& log_path);
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(); }

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after grace; returns the exit status (as CommandResult::exit_code).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  // Waits for a normal exit up to timeout; -1 if still running.
  int wait(std::chrono::milliseconds timeout);
  std::string log() const;
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// Polls `predicate` every 50 ms until it returns true or the timeout passes.
template <class Pred>
bool eventually(Pred predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::string read_file(const std::string& path);

}  // namespace wb::test

#include "tests/support/process_inl.h"
