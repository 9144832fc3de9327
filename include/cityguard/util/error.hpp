#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cityguard {

/// Stable, machine-readable error codes. Clients and tests rely on the code, never on the message.
enum class errc {
    bad_request,
    invalid_json,
    invalid_text,  ///< text PostgreSQL cannot store (NUL) or that is not UTF-8
    validation_failed,
    unsupported_media_type,
    payload_too_large,
    too_many_readings,
    unauthorized,
    forbidden,
    not_found,
    method_not_allowed,
    conflict,
    invalid_transition,
    too_many_requests,
    overloaded,
    unavailable,
    internal,
};

/// The code as it appears in JSON bodies, e.g. "invalid_json".
std::string_view to_code(errc code) noexcept;

/// The one place that maps an error code to an HTTP status.
int to_http_status(errc code) noexcept;

/// A request-level failure with a safe, operator-readable message. Thrown by services and
/// handlers; caught once, at the top of request dispatch, and turned into
/// {"error":{"code":"...","message":"..."}} with the mapped status.
class api_error : public std::runtime_error {
  public:
    api_error(errc code, std::string message, nlohmann::json details = nullptr)
        : std::runtime_error(std::move(message)), code_(code), details_(std::move(details)) {}

    errc code() const noexcept { return code_; }
    /// Optional structured details (e.g. per-item errors); null when absent.
    const nlohmann::json& details() const noexcept { return details_; }

  private:
    errc code_;
    nlohmann::json details_;
};

/// Seconds a client should wait before retrying, for codes that ask it to (429, 503); 0 otherwise.
int retry_after_seconds(errc code) noexcept;

/// Builds the JSON error body for a code and message (and optional details under "items").
nlohmann::json error_body(errc code, std::string_view message, const nlohmann::json& details = nullptr);

}  // namespace cityguard
