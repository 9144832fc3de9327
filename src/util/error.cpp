#include "cityguard/util/error.hpp"

namespace cityguard {

std::string_view to_code(errc code) noexcept {
    switch (code) {
        case errc::bad_request:
            return "bad_request";
        case errc::invalid_json:
            return "invalid_json";
        case errc::invalid_text:
            return "invalid_text";
        case errc::validation_failed:
            return "validation_failed";
        case errc::unsupported_media_type:
            return "unsupported_media_type";
        case errc::payload_too_large:
            return "payload_too_large";
        case errc::too_many_readings:
            return "too_many_readings";
        case errc::unauthorized:
            return "unauthorized";
        case errc::forbidden:
            return "forbidden";
        case errc::not_found:
            return "not_found";
        case errc::method_not_allowed:
            return "method_not_allowed";
        case errc::conflict:
            return "conflict";
        case errc::invalid_transition:
            return "invalid_transition";
        case errc::too_many_requests:
            return "too_many_requests";
        case errc::overloaded:
            return "overloaded";
        case errc::unavailable:
            return "unavailable";
        case errc::not_implemented:
            return "not_implemented";
        case errc::internal:
            return "internal";
    }
    return "internal";
}

}  // namespace cityguard
