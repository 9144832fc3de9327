#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "cityguard/store/errors.hpp"
#include "cityguard/util/error.hpp"

/// The one place errors become HTTP: status codes, Retry-After, the JSON error body. Services
/// throw api_error, the store throws store::error; only this layer knows what a status is.
namespace cityguard::api {

int to_http_status(errc code) noexcept;

/// Seconds a client should wait before retrying, for codes that ask it to (429, 503); 0 otherwise.
int retry_after_seconds(errc code) noexcept;

/// The code a store failure is answered with: unavailable and overloaded are 503, conflict 409.
errc to_errc(store::failure kind) noexcept;

/// Builds the JSON error body for a code and message (and optional details under "items").
nlohmann::json error_body(errc code, std::string_view message, const nlohmann::json& details = nullptr);

}  // namespace cityguard::api
