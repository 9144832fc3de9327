#pragma once

#include <cstddef>
#include <optional>
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

/// HMAC-SHA1 of `data` under `key`, as 20 raw bytes (OpenSSL): what TOTP (RFC 6238) uses.
std::string hmac_sha1(std::string_view key, std::string_view data);

/// `n` bytes from the OS CSPRNG. Throws std::runtime_error if the random source fails.
std::string random_bytes(std::size_t n);

/// A new secret token: `prefix` followed by 43 base64url characters (256 bits from the OS CSPRNG).
/// Throws std::runtime_error if the random source fails.
std::string generate_token(std::string_view prefix);

/// A new API key: "cg_" and 43 base64url characters (generate_token("cg_")).
inline std::string generate_api_key() { return generate_token("cg_"); }

/// SM4-CBC (GB/T 32907-2016) with PKCS#7 padding, as OpenSSL 3 provides it: `key` and `iv` are
/// 16 bytes each. Throws std::invalid_argument for other sizes, std::runtime_error if OpenSSL fails
/// (decrypt: also for a wrong key or padding).
std::string sm4_cbc_encrypt(std::string_view key, std::string_view iv, std::string_view plaintext);
std::string sm4_cbc_decrypt(std::string_view key, std::string_view iv, std::string_view ciphertext);
/// The bytes of lower- or upper-case hex; nullopt if malformed.
std::optional<std::string> from_hex(std::string_view hex);

/// RFC 4648 base64 with padding (the standard alphabet, + and /), as DingTalk's robot signature is.
std::string base64_encode(std::string_view bytes);

/// RFC 4648 base32 without padding (A-Z2-7), as authenticator apps read TOTP secrets.
std::string base32_encode(std::string_view bytes);
/// The bytes of RFC 4648 base32 (case-insensitive, '=' and spaces ignored); nullopt if malformed.
std::optional<std::string> base32_decode(std::string_view text);

}  // namespace cityguard::util
