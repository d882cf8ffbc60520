// net/asio.h — the Boost.Asio headers that net/'s public API needs (awaitable, executors).
//
// Every Boost include of net/ goes through this header or beast.h. GCC 12 reports
// -Wnull-dereference from its optimiser inside Asio's inlined executor comparisons even though
// they sit in a system header; the pragma covers the Boost headers only, never OpenPCC code.
#pragma once

#include "openpcc/util/result.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace openpcc::net {
template <typename T>
using Awaitable = boost::asio::awaitable<T>;
}  // namespace openpcc::net

// The coroutine forms of OPENPCC_RETURN_IF_ERROR / OPENPCC_ASSIGN_OR_RETURN (util/result.h), for
// functions returning Awaitable<Result<T>> or Awaitable<Status>.
#define OPENPCC_CO_RETURN_IF_ERROR(expr)                                      \
  do {                                                                        \
    auto openpcc_status_ = (expr);                                            \
    if (!openpcc_status_.ok()) co_return std::move(openpcc_status_).error();  \
  } while (false)

#define OPENPCC_CO_ASSIGN_OR_RETURN(lhs, expr) \
  OPENPCC_CO_ASSIGN_OR_RETURN_IMPL(OPENPCC_CONCAT(openpcc_co_result_, __LINE__), lhs, expr)
#define OPENPCC_CO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) co_return std::move(tmp).error();       \
  lhs = std::move(tmp).value()
