// net/beast.h — internal: Boost.Beast, Asio's sockets and SSL, for the .cc files of net/ only.
// See asio.h for why the includes sit inside a diagnostic pragma.
#pragma once

#include "openpcc/net/asio.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <boost/asio.hpp>  // NOLINT: after the pragma on purpose
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace openpcc::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
inline constexpr auto kAsTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
}  // namespace openpcc::net
