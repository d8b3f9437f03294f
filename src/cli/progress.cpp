#include "cli/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace cairn::cli {
namespace {
constexpr int kBarWidth = 24;
constexpr double kLogIntervalSeconds = 5.0;
}  // namespace

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressReporter::ProgressReporter(std::string label)
    : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) == 1), last_log_(std::chrono::steady_clock::now()) {}

ProgressReporter::~ProgressReporter() {
  if (tty_ && drew_) std::fputc('\n', stderr);
}

void ProgressReporter::Update(const train::Progress& p) {
  const double fraction = p.total_steps ? static_cast<double>(p.step) / static_cast<double>(p.total_steps) : 1.0;
  const double eta = p.steps_per_second > 0 ? static_cast<double>(p.total_steps - p.step) / p.steps_per_second : -1;
  if (tty_) {
    char bar[kBarWidth + 1];
    int filled = static_cast<int>(fraction * kBarWidth);
    for (int i = 0; i < kBarWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kBarWidth] = '\0';
    std::fprintf(stderr, "\r%s [%s] step %llu/%llu  loss %.4f  %.0f steps/s  ETA %s   ", label_.c_str(), bar,
                 static_cast<unsigned long long>(p.step), static_cast<unsigned long long>(p.total_steps), p.loss,
                 p.steps_per_second, FormatDuration(eta).c_str());
    std::fflush(stderr);
    drew_ = true;
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (p.step != p.total_steps && std::chrono::duration<double>(now - last_log_).count() < kLogIntervalSeconds) return;
  last_log_ = now;
  spdlog::info("{}: step {}/{} loss {:.4f} {:.0f} steps/s ETA {}", label_, p.step, p.total_steps, p.loss,
               p.steps_per_second, FormatDuration(eta));
}

}  // namespace cairn::cli
