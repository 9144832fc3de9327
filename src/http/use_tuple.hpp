#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cityguard::http {

/// The completion token of the sessions' socket operations: errors come back as values
/// (`auto [ec, n] = co_await ...`), not exceptions, because a peer that goes away is routine.
inline constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace cityguard::http
