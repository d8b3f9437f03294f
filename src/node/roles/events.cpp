#include "node/roles/events.h"

namespace cairn::node {

Hash256 JobOf(const Event& event) {
  return std::visit(
      [](const auto& e) -> Hash256 {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, JobChanged>) {
          return e.job.job_id;
        } else if constexpr (std::is_same_v<E, NewHeight>) {
          return Hash256{};
        } else {
          return e.job_id;
        }
      },
      event);
}

}  // namespace cairn::node
