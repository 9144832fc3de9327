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
    not_implemented,  ///< a transfer coding or feature the server does not support (501)
    internal,
};

/// The code as it appears in JSON bodies, e.g. "invalid_json".
std::string_view to_code(errc code) noexcept;

/// A request-level failure with a safe, operator-readable message. Thrown by services and
/// handlers; caught once, at the top of request dispatch (api::dispatcher), and turned into
/// {"error":{"code":"...","message":"..."}} with the status api/errors.hpp maps it to.
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

}  // namespace cityguard
