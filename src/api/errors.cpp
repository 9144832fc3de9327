#include "cityguard/api/errors.hpp"

namespace cityguard::api {

int to_http_status(errc code) noexcept {
    switch (code) {
        case errc::bad_request:
        case errc::invalid_json:
        case errc::invalid_text:
            return 400;
        case errc::too_many_requests:
            return 429;
        case errc::unauthorized:
            return 401;
        case errc::forbidden:
            return 403;
        case errc::not_found:
            return 404;
        case errc::method_not_allowed:
            return 405;
        case errc::conflict:
        case errc::invalid_transition:
            return 409;
        case errc::payload_too_large:
        case errc::too_many_readings:
            return 413;
        case errc::unsupported_media_type:
            return 415;
        case errc::validation_failed:
            return 422;
        case errc::overloaded:
        case errc::unavailable:
            return 503;
        case errc::not_implemented:
            return 501;
        case errc::internal:
            return 500;
    }
    return 500;
}

int retry_after_seconds(errc code) noexcept {
    switch (code) {
        case errc::too_many_requests:
        case errc::overloaded:
            return 1;
        case errc::unavailable:
            return 5;  // a database outage rarely ends within a second
        default:
            return 0;
    }
}

nlohmann::json error_body(errc code, std::string_view message, const nlohmann::json& details) {
    nlohmann::json err{{"code", to_code(code)}, {"message", message}};
    if (!details.is_null()) err["items"] = details;
    return {{"error", std::move(err)}};
}

errc to_errc(store::failure kind) noexcept {
    switch (kind) {
        case store::failure::unavailable:
            return errc::unavailable;
        case store::failure::overloaded:
            return errc::overloaded;
        case store::failure::conflict:
            return errc::conflict;
    }
    return errc::internal;
}

}  // namespace cityguard::api
