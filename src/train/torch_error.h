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

// Runs `body` (returning Status or Result<T>) and converts any exception it
// throws into an error naming `context`.
template <typename Body>
auto GuardTorch(const std::string& context, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(context + ": out of memory");
  } catch (const std::exception& e) {
    return FailedPrecondition(context + ": " + TorchErrorText(e));
  }
}

}  // namespace cairn::train
