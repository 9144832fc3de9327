#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cityguard/config/config.hpp"
#include "cityguard/util/worker_pool.hpp"

namespace cityguard::auth {

/// Why `password` is not acceptable for `login`, or nullopt: at least `min_length` characters
/// (code points), at most 1024 bytes, three of the four classes (lower case, upper case, digit,
/// other), and not containing the login name.
std::optional<std::string> password_problem(std::string_view password, std::string_view login, std::size_t min_length);

/// Argon2id (libsodium's crypto_pwhash_str) on threads of its own: a hash takes tens of
/// milliseconds and auth.argon2_mem_kib of memory by design, so it never runs on an I/O thread,
/// and at most auth.hash_threads run at once (memory: threads × argon2_mem_kib), with at most
/// auth.max_queued_hashes waiting; beyond that callers get api_error(overloaded).
///
/// hash() and verify() only hand the work to the hashing threads: plain functions, not
/// coroutines (docs/architecture.md, coroutine rule 3).
///
/// Thread safety: all members may be called from any thread.
class password_hasher {
  public:
    explicit password_hasher(const config::auth_config& cfg);
    password_hasher(const password_hasher&) = delete;
    password_hasher& operator=(const password_hasher&) = delete;

    /// The stored form (parameters and salt included).
    boost::asio::awaitable<std::string> hash(std::string password);
    /// Whether `password` matches `stored`. A malformed `stored` does not match.
    boost::asio::awaitable<bool> verify(std::string stored, std::string password);
    /// Verifies against a hash of nothing: a sign-in for an unknown login costs what a real one
    /// costs, so timing does not tell which logins exist.
    boost::asio::awaitable<bool> waste_like_verify();
    /// Hashes running or waiting, and the bound (GET /metrics).
    std::size_t queued() const noexcept { return workers_.queued(); }
    std::size_t max_queued() const noexcept { return workers_.max_queued(); }
    /// True when `stored` was made with other parameters than the configured ones.
    bool needs_rehash(const std::string& stored) const;

  private:
    const config::auth_config& cfg_;
    std::string decoy_;  // a hash of a random password, for waste_like_verify
    util::worker_pool workers_;
};

/// The current six-digit TOTP code (RFC 6238: HMAC-SHA1, 30 s steps) of `secret` (raw bytes) for
/// time step `step`.
std::string totp_code(std::string_view secret, std::int64_t step);
/// The time step (unix seconds / 30) whose code `code` is, within ±`window` steps of `now_seconds`;
/// nullopt when none.
std::optional<std::int64_t> totp_match(
    std::string_view secret, std::string_view code, std::int64_t now_seconds, int window = 1
);

}  // namespace cityguard::auth
