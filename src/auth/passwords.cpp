#include "cityguard/auth/passwords.hpp"

#include <sodium.h>

#include <stdexcept>

#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::auth {

namespace net = boost::asio;

std::optional<std::string> password_problem(std::string_view password, std::string_view login, std::size_t min_length) {
    if (password.size() > 1024) return "a password has at most 1024 bytes";
    std::size_t code_points = 0;
    bool lower = false, upper = false, digit = false, other = false;
    for (unsigned char c : password) {
        if ((c & 0xc0) != 0x80) ++code_points;
        if (c >= 'a' && c <= 'z')
            lower = true;
        else if (c >= 'A' && c <= 'Z')
            upper = true;
        else if (c >= '0' && c <= '9')
            digit = true;
        else
            other = true;
    }
    if (code_points < min_length) return "a password has at least " + std::to_string(min_length) + " characters";
    if (int(lower) + int(upper) + int(digit) + int(other) < 3)
        return "a password mixes three of: lower case, upper case, digits, other characters";
    if (!login.empty() && password.find(login) != std::string_view::npos)
        return "a password may not contain the login name";
    return std::nullopt;
}

namespace {

std::string argon2id(const std::string& password, unsigned long long ops, std::size_t mem_bytes) {
    std::string out(crypto_pwhash_STRBYTES, '\0');
    if (crypto_pwhash_str_alg(
            out.data(), password.data(), password.size(), ops, mem_bytes, crypto_pwhash_ALG_ARGON2ID13
        ) != 0)
        throw std::runtime_error("Argon2id: out of memory (auth.argon2_mem_kib)");
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
}

// A hash of a random password: what a sign-in for an unknown login is checked against.
std::string make_decoy(const config::auth_config& cfg) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
    return argon2id(util::to_hex(util::random_bytes(16)), cfg.argon2_ops, cfg.argon2_mem_kib * 1024);
}

}  // namespace

password_hasher::password_hasher(const config::auth_config& cfg)
    : cfg_(cfg),
      decoy_(make_decoy(cfg)),
      workers_(
          cfg.hash_threads, cfg.max_queued_hashes + cfg.hash_threads, "too many sign-ins in progress; retry in a moment"
      ) {}

net::awaitable<std::string> password_hasher::hash(std::string password) {
    auto task = [password = std::move(password), ops = cfg_.argon2_ops, mem = cfg_.argon2_mem_kib * 1024] {
        return argon2id(password, ops, mem);
    };
    return workers_.run(std::move(task));
}

net::awaitable<bool> password_hasher::verify(std::string stored, std::string password) {
    auto task = [stored = std::move(stored), password = std::move(password)] {
        return stored.size() < crypto_pwhash_STRBYTES &&
               crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
    };
    return workers_.run(std::move(task));
}

net::awaitable<bool> password_hasher::waste_like_verify() { return verify(decoy_, "not the password"); }

bool password_hasher::needs_rehash(const std::string& stored) const {
    return crypto_pwhash_str_needs_rehash(stored.c_str(), cfg_.argon2_ops, cfg_.argon2_mem_kib * 1024) != 0;
}

std::string totp_code(std::string_view secret, std::int64_t step) {
    std::string counter(8, '\0');
    for (int i = 7; i >= 0; --i) {
        counter[static_cast<std::size_t>(i)] = static_cast<char>(step & 0xff);
        step >>= 8;
    }
    const std::string mac = util::hmac_sha1(secret, counter);
    const auto offset = static_cast<std::size_t>(mac.back() & 0x0f);
    const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                                 (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
                                 (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
                                 static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
    std::string code = std::to_string(binary % 1'000'000);
    return std::string(6 - code.size(), '0') + code;
}

std::optional<std::int64_t> totp_match(
    std::string_view secret, std::string_view code, std::int64_t now_seconds, int window
) {
    if (code.size() != 6) return std::nullopt;
    const std::int64_t now_step = now_seconds / 30;
    for (std::int64_t step = now_step - window; step <= now_step + window; ++step)
        if (util::equal_secrets(totp_code(secret, step), code)) return step;
    return std::nullopt;
}

}  // namespace cityguard::auth
