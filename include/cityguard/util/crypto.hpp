#pragma once

#include <string>
#include <string_view>

namespace cityguard::util {

/// SHA-256 of the input as 32 raw bytes (OpenSSL). Thread-safe.
std::string sha256(std::string_view data);

/// HMAC-SHA256 of `data` under `key`, as 32 raw bytes (OpenSSL). Thread-safe.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Whether two secrets are equal, in time that does not depend on where they differ.
bool equal_secrets(std::string_view a, std::string_view b) noexcept;

/// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);

/// A new API key: "cg_" followed by 43 base64url characters (256 bits from the OS CSPRNG).
/// Throws std::runtime_error if the random source fails.
std::string generate_api_key();

}  // namespace cityguard::util
