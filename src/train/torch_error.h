// Turning libtorch exceptions into Status values (internal to train/). Every
// public entry point of train/ runs its body through GuardTorch, so no
// exception crosses out of the subsystem; messages keep the TorchScript
// interpreter's whole text (its first line alone, "The following operation
// failed in the TorchScript interpreter.", hides the cause).
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <new>
#include <string>
#include <type_traits>

#include "cairn/status.h"

namespace cairn::train {

// The exception's message without libtorch's C++ backtrace, trailing
// whitespace trimmed; every line of the interpreter's traceback is kept.
inline std::string TorchErrorText(const std::exception& e) {
  std::string text;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    text = c10_error->what_without_backtrace();
  } else {
    text = e.what();
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Whether a libtorch failure is an allocation failure (the CPU allocator's
// message, or a std::bad_alloc the TorchScript interpreter rethrew as text).
inline bool IsOutOfMemory(const std::string& text) {
  return text.find("std::bad_alloc") != std::string::npos ||
         text.find("can't allocate memory") != std::string::npos ||
         text.find("CUDA out of memory") != std::string::npos;
}

// The Status for a libtorch exception: ResourceExhausted for an allocation
// failure (a limit, not the input), else `code`.
inline Status TorchFailure(StatusCode code, const std::string& context, const std::exception& e) {
  const std::string text = TorchErrorText(e);
  if (IsOutOfMemory(text)) return ResourceExhausted(context + ": out of memory: " + text);
  return Status(code, context + ": " + text);
}

// Runs `body` (returning Status or Result<T>) and converts any exception it
// throws into an error naming `context`.
template <typename Body>
auto GuardTorch(const std::string& context, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(context + ": out of memory");
  } catch (const std::exception& e) {
    return TorchFailure(StatusCode::kFailedPrecondition, context, e);
  }
}

}  // namespace cairn::train
