#include "cityguard/util/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace cityguard::util {

std::string sha256(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (!HMAC(
            EVP_sha256(),
            key.data(),
            static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()),
            data.size(),
            md.data(),
            &len
        ))
        throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}

std::string random_bytes(std::size_t n) {
    std::string raw(n, '\0');
    if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return raw;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(bytes.data()),
        static_cast<int>(bytes.size())
    );
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string generate_token(std::string_view prefix) {
    const std::string raw = random_bytes(32);
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string key(prefix);
    unsigned bits = 0, acc = 0;
    for (unsigned char c : raw) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            key.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) key.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    return key;
}

namespace {

std::string sm4_cbc(bool encrypt, std::string_view key, std::string_view iv, std::string_view in) {
    if (key.size() != 16 || iv.size() != 16) throw std::invalid_argument("SM4 takes a 16-byte key and IV");
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    if (!ctx || EVP_CipherInit_ex(
                    ctx.get(),
                    EVP_sm4_cbc(),
                    nullptr,
                    reinterpret_cast<const unsigned char*>(key.data()),
                    reinterpret_cast<const unsigned char*>(iv.data()),
                    encrypt ? 1 : 0
                ) != 1)
        throw std::runtime_error("SM4-CBC is not available");
    std::string out(in.size() + 16, '\0');
    int n = 0, tail = 0;
    if (EVP_CipherUpdate(
            ctx.get(),
            reinterpret_cast<unsigned char*>(out.data()),
            &n,
            reinterpret_cast<const unsigned char*>(in.data()),
            static_cast<int>(in.size())
        ) != 1 ||
        EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &tail) != 1)
        throw std::runtime_error(encrypt ? "SM4-CBC encryption failed" : "SM4-CBC decryption failed (key or padding)");
    out.resize(static_cast<std::size_t>(n + tail));
    return out;
}

}  // namespace

std::string sm4_cbc_encrypt(std::string_view key, std::string_view iv, std::string_view plaintext) {
    return sm4_cbc(true, key, iv, plaintext);
}

std::string sm4_cbc_decrypt(std::string_view key, std::string_view iv, std::string_view ciphertext) {
    return sm4_cbc(false, key, iv, ciphertext);
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(
            EVP_sha1(),
            key.data(),
            static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()),
            data.size(),
            out,
            &len
        ))
        throw std::runtime_error("HMAC-SHA1 failed");
    return std::string(reinterpret_cast<const char*>(out), len);
}

std::string base32_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    unsigned bits = 0, acc = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(alphabet[(acc >> bits) & 0x1f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(acc << (5 - bits)) & 0x1f]);
    return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
    std::string out;
    unsigned bits = 0, acc = 0;
    for (char ch : text) {
        if (ch == '=' || ch == ' ') continue;
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        unsigned v = 0;
        if (c >= 'A' && c <= 'Z')
            v = static_cast<unsigned>(c - 'A');
        else if (c >= '2' && c <= '7')
            v = static_cast<unsigned>(c - '2' + 26);
        else
            return std::nullopt;
        acc = ((acc << 5) | v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

bool equal_secrets(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cityguard::util
