#include "sandbox/limits.h"

#include <sys/prctl.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace cairn::sandbox {
namespace {

void Add(RlimitPlan* plan, int resource, rlim_t soft, rlim_t hard) {
  CAIRN_ASSERT(plan->count < RlimitPlan::kSettingsMax);
  RlimitSetting& setting = plan->settings[plan->count++];
  setting.resource = resource;
  setting.value.rlim_cur = soft;
  setting.value.rlim_max = hard;
}

// Plans soft/hard for `resource`, never above the current hard limit.
Status AddClamped(RlimitPlan* plan, int resource, uint64_t soft, uint64_t hard) {
  struct rlimit current {};
  if (::getrlimit(resource, &current) != 0) {
    return Internal(std::string("getrlimit(") + RlimitName(resource) + "): " + std::strerror(errno));
  }
  auto clamp = [&](uint64_t v) -> rlim_t {
    rlim_t value = static_cast<rlim_t>(v);
    if (current.rlim_max != RLIM_INFINITY && value > current.rlim_max) value = current.rlim_max;
    return value;
  };
  Add(plan, resource, clamp(soft), clamp(hard));
  return Status::Ok();
}

}  // namespace

const char* RlimitName(int resource) {
  switch (resource) {
    case RLIMIT_AS: return "RLIMIT_AS";
    case RLIMIT_CPU: return "RLIMIT_CPU";
    case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
    case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
    case RLIMIT_CORE: return "RLIMIT_CORE";
    default: return "RLIMIT_?";
  }
}

std::string FormatSeconds(double seconds) {
  char text[64];
  std::snprintf(text, sizeof(text), "%g s", seconds);
  return text;
}

Status ValidateLimits(const Limits& limits) {
  if (limits.open_files != 0 && limits.open_files < kOpenFilesMin) {
    return InvalidArgument("sandbox limits: open_files is " + std::to_string(limits.open_files) +
                           ", below the minimum of " + std::to_string(kOpenFilesMin) + " (0 means unlimited)");
  }
  if (!std::isfinite(limits.wall_seconds) || limits.wall_seconds < 0) {
    return InvalidArgument("sandbox limits: wall_seconds must be a finite number >= 0 (0 means unlimited)");
  }
  // rlim_t is 64-bit here; the +grace below must not wrap.
  if (limits.cpu_seconds > UINT64_MAX - kCpuHardLimitGraceSeconds) {
    return InvalidArgument("sandbox limits: cpu_seconds is out of range");
  }
  return Status::Ok();
}

Result<RlimitPlan> PlanRlimits(const Limits& limits) {
  CAIRN_RETURN_IF_ERROR(ValidateLimits(limits));
  RlimitPlan plan;
  if (limits.address_space_bytes != 0) {
    CAIRN_RETURN_IF_ERROR(AddClamped(&plan, RLIMIT_AS, limits.address_space_bytes, limits.address_space_bytes));
  }
  if (limits.cpu_seconds != 0) {
    CAIRN_RETURN_IF_ERROR(
        AddClamped(&plan, RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + kCpuHardLimitGraceSeconds));
  }
  if (limits.file_size_bytes != 0) {
    CAIRN_RETURN_IF_ERROR(AddClamped(&plan, RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes));
  }
  if (limits.open_files != 0) {
    CAIRN_RETURN_IF_ERROR(AddClamped(&plan, RLIMIT_NOFILE, limits.open_files, limits.open_files));
  }
  Add(&plan, RLIMIT_CORE, 0, 0);
  return plan;
}

int InstallRlimitPlan(const RlimitPlan& plan, int* failed_resource) noexcept {
  for (size_t i = 0; i < plan.count; ++i) {
    if (::setrlimit(plan.settings[i].resource, &plan.settings[i].value) != 0) {
      *failed_resource = plan.settings[i].resource;
      return errno;
    }
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *failed_resource = -1;
    return errno;
  }
  return 0;
}

Status ApplyLimits(const Limits& limits) {
  CAIRN_ASSIGN_OR_RETURN(RlimitPlan plan, PlanRlimits(limits));
  int failed_resource = 0;
  int error = InstallRlimitPlan(plan, &failed_resource);
  if (error != 0) {
    std::string what = failed_resource < 0 ? "prctl(PR_SET_NO_NEW_PRIVS)"
                                           : std::string("setrlimit(") + RlimitName(failed_resource) + ")";
    std::string message = "sandbox: " + what + " failed: " + std::strerror(error);
    // EPERM: raising a hard limit, or RestrictProcess already refuses setrlimit.
    return error == EPERM ? PermissionDenied(message) : Internal(message);
  }
  return Status::Ok();
}

}  // namespace cairn::sandbox
