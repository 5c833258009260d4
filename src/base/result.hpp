// Result and Error: how every module boundary reports failure. Errors are values, never
// exceptions or aborts, so a bad guest request or bad user input becomes one clear message.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace vessel {

struct Error {
  std::string message;
};

template <class T = void>
using Result = std::expected<T, Error>;

// Builds the failure side of a Result: `return fail("bad port {:#x}", port);`
template <typename... Args>
[[nodiscard]] std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected(Error{fmt::format(format, std::forward<Args>(args)...)});
}

// Prefixes an error with context: `return context(r, "loading {}", path);`
template <typename... Args>
[[nodiscard]] std::unexpected<Error> context(const Error& inner, fmt::format_string<Args...> format,
                                             Args&&... args) {
  return std::unexpected(
      Error{fmt::format(format, std::forward<Args>(args)...) + ": " + inner.message});
}

}  // namespace vessel

// Propagates an error from an expression returning Result<T>; yields the value otherwise.
// A GNU statement expression keeps call sites to one line (GCC and clang both support it).
#define VESSEL_TRY(expr)                                                         \
  __extension__({                                                                \
    auto vessel_try_result_ = (expr);                                            \
    if (!vessel_try_result_) return std::unexpected(vessel_try_result_.error()); \
    std::move(vessel_try_result_).value();                                       \
  })

#define VESSEL_TRY_VOID(expr)                                                    \
  do {                                                                           \
    auto vessel_try_result_ = (expr);                                            \
    if (!vessel_try_result_) return std::unexpected(vessel_try_result_.error()); \
  } while (0)
