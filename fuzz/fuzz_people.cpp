// What people send besides HTTP framing: scopes and bindings (keys, accounts), an account body,
// the Cookie header, base32 TOTP secrets and codes, and the audit trail's summary of any body.
// The first byte chooses which; the rest is the input.
#include <cstdint>
#include <string_view>

#include "cityguard/api/request.hpp"
#include "cityguard/auth/audit_trail.hpp"
#include "cityguard/auth/identity.hpp"
#include "cityguard/auth/passwords.hpp"
#include "cityguard/auth/people_service.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cg = cityguard;
using nlohmann::json;

namespace {

// No member named like a secret keeps its value anywhere in a summary.
void no_secret_left(const json& j) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if ((it.key() == "password" || it.key() == "code" || it.key() == "key") && *it != "***") __builtin_trap();
            no_secret_left(*it);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) no_secret_left(v);
    }
}

bool expected(cg::errc c) {
    return c == cg::errc::validation_failed || c == cg::errc::invalid_json || c == cg::errc::invalid_text ||
           c == cg::errc::forbidden;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 7) {
            case 0: {  // a scope, as keys and accounts carry it
                const auto s =
                    cg::auth::parse_scope(cg::util::parse_untrusted_json(text, cg::util::kDefaultJsonMaxDepth));
                if (cg::auth::parse_scope(cg::auth::to_json(s)) != s) __builtin_trap();
                if (!s.contains(s) || !cg::auth::scope{}.contains(s)) __builtin_trap();
                break;
            }
            case 1: {  // a gateway key's binding
                const auto b =
                    cg::auth::parse_binding(cg::util::parse_untrusted_json(text, cg::util::kDefaultJsonMaxDepth));
                if (cg::auth::parse_binding(cg::auth::to_json(b)) != b) __builtin_trap();
                break;
            }
            case 2: {  // POST /api/v1/users, by an admin of one district
                const auto body = cg::util::parse_untrusted_json(text, cg::util::kDefaultJsonMaxDepth);
                const cg::auth::principal caller{
                    "ft-admin", cg::auth::role::admin, cg::auth::make_scope({"福田区"}, {}, {})};
                const auto made = cg::auth::parse_new_user(body, caller, 10);
                const auto scope = cg::auth::parse_scope(json::parse(made.account.scope));
                if (!caller.scope.contains(scope)) __builtin_trap();
                if (cg::auth::password_problem(made.password, made.account.login, 10)) __builtin_trap();
                if (!cg::auth::is_person_role(*cg::auth::parse_role(made.account.role))) __builtin_trap();
                break;
            }
            case 3: {  // the Cookie header
                if (const auto v = cg::api::cookie_value(text, cg::api::kSessionCookie))
                    if (v->size() > text.size()) __builtin_trap();
                break;
            }
            case 4: {  // a TOTP secret (base32) and a code against it
                if (const auto raw = cg::util::base32_decode(text)) {
                    if (cg::util::base32_decode(cg::util::base32_encode(*raw)) != *raw) __builtin_trap();
                    const auto code = cg::auth::totp_code(*raw, 58'000'000);
                    if (code.size() != 6 || cg::auth::totp_match(*raw, code, 58'000'000LL * 30) != 58'000'000)
                        __builtin_trap();
                }
                break;
            }
            case 5: {  // a password against the policy
                (void)cg::auth::password_problem(text, "ann", 10);
                break;
            }
            case 6: {  // any body, summarised for the audit trail
                const std::string summary = cg::auth::summarise_body(text, 2048);
                if (!cg::util::storable_text(summary)) __builtin_trap();
                const json parsed = json::parse(summary);  // always JSON
                no_secret_left(parsed);
                break;
            }
        }
    } catch (const cg::api_error& e) {
        if (!expected(e.code())) __builtin_trap();
    }
    return 0;
}
