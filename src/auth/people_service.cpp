#include "cityguard/auth/people_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::auth {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxLoginBytes = 64;
constexpr std::size_t kMaxDisplayNameBytes = 100;
constexpr std::size_t kAddressesRemembered = 100'000;
constexpr int kRecoveryCodes = 10;

bool valid_login(std::string_view login) {
    if (login.empty() || login.size() > kMaxLoginBytes) return false;
    return std::all_of(login.begin(), login.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@';
    });
}

const std::string& text_member(const json& body, const char* name, std::size_t max_bytes) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > max_bytes || !util::storable_text(it->get_ref<const std::string&>()))
        throw api_error(
            errc::validation_failed, std::string(name) + " must be text of 1-" + std::to_string(max_bytes) + " bytes"
        );
    return it->get_ref<const std::string&>();
}

std::string hash_hex(std::string_view secret) { return util::to_hex(util::sha256(secret)); }

api_error wrong_credentials() { return api_error(errc::unauthorized, "wrong login name or password"); }

}  // namespace

people_service::people_service(store::people_repo& repo, password_hasher& hasher, const config::auth_config& cfg)
    : repo_(repo),
      hasher_(hasher),
      cfg_(cfg),
      per_address_(cfg.signins_per_address_per_minute / 60.0, cfg.signin_burst_per_address, kAddressesRemembered) {}

bool people_service::totp_required(role r) const {
    return std::find(cfg_.require_totp_for.begin(), cfg_.require_totp_for.end(), to_string(r)) !=
           cfg_.require_totp_for.end();
}

principal people_service::principal_of(const store::user_record& u) const {
    principal p;
    p.name = u.login;
    p.role = parse_role(u.role).value_or(role::viewer);
    p.user_id = u.id;
    p.display_name = u.display_name;
    try {
        p.scope = parse_scope(json::parse(u.scope));
    } catch (const std::exception&) {
        // A scope edited by hand into something unreadable covers nothing rather than the city.
        p.scope = make_scope({"\x01unreadable"}, {}, {});
    }
    p.must_enrol_second_factor = totp_required(p.role) && !u.totp_secret;
    return p;
}

json people_service::to_json(const store::user_record& u) {
    json out{
        {"id", u.id},
        {"login", u.login},
        {"display_name", u.display_name},
        {"role", u.role},
        {"scope", json::parse(u.scope, nullptr, false).is_discarded() ? json::object() : json::parse(u.scope)},
        {"contact", u.contact ? json(*u.contact) : json(nullptr)},
        {"disabled", u.disabled},
        {"totp", u.totp_secret.has_value()},
        {"recovery_codes_left", u.recovery_codes.size()},
        {"created_at", util::format_rfc3339(u.created_at)},
        {"updated_at", util::format_rfc3339(u.updated_at)},
        {"password_changed_at", util::format_rfc3339(u.password_changed_at)}};
    if (u.locked_until && *u.locked_until > util::now_micros())
        out["locked_until"] = util::format_rfc3339(*u.locked_until);
    return out;
}

void people_service::check_within(const principal& caller, const store::user_record& u) const {
    if (!caller.scope.contains(principal_of(u).scope))
        throw api_error(errc::not_found, "no user " + std::to_string(u.id));
}

// --- accounts

new_user parse_new_user(const json& body, const principal& caller, std::size_t password_min_length) {
    if (!body.is_object())
        throw api_error(
            errc::validation_failed,
            "body must be {\"login\",\"display_name\",\"role\",\"password\",\"scope\"?,\"contact\"?,\"disabled\"?}"
        );
    static const char* known[] = {"login", "display_name", "role", "password", "scope", "contact", "disabled"};
    for (auto it = body.begin(); it != body.end(); ++it)
        if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return it.key() == k; }) ==
            std::end(known))
            throw api_error(errc::validation_failed, "a user has no member '" + it.key() + "'");
    new_user out;
    store::user_record& u = out.account;
    u.login = text_member(body, "login", kMaxLoginBytes);
    if (!valid_login(u.login))
        throw api_error(errc::validation_failed, "login must be 1-64 characters of A-Z a-z 0-9 . _ - @");
    u.display_name = text_member(body, "display_name", kMaxDisplayNameBytes);
    const auto r = parse_role(text_member(body, "role", 16));
    if (!r || !is_person_role(*r))
        throw api_error(errc::validation_failed, "a person's role is viewer, operator, enterprise or admin");
    u.role = std::string(auth::to_string(*r));
    const scope s = body.contains("scope") ? parse_scope(body["scope"]) : scope{};
    if (*r == role::enterprise && s.units.empty())
        throw api_error(errc::validation_failed, "an enterprise user needs a scope with units");
    if (!caller.scope.contains(s)) throw api_error(errc::forbidden, "the user's scope must lie within your own");
    u.scope = auth::to_json(s).dump();
    if (body.contains("contact") && !body["contact"].is_null()) u.contact = text_member(body, "contact", 64);
    if (body.contains("disabled")) {
        if (!body["disabled"].is_boolean()) throw api_error(errc::validation_failed, "disabled must be true or false");
        u.disabled = body["disabled"].get<bool>();
    }
    out.password = text_member(body, "password", 1024);
    if (auto why = password_problem(out.password, u.login, password_min_length))
        throw api_error(errc::validation_failed, *why);
    return out;
}

net::awaitable<json> people_service::create_user(json body, principal caller, contact_check check) {
    new_user made = parse_new_user(body, caller, cfg_.password_min_length);
    store::user_record& u = made.account;
    if (u.contact) co_await check(*u.contact, principal_of(u).scope);
    const std::string& password = made.password;
    u.password_hash = co_await hasher_.hash(password);
    const auto id = co_await repo_.insert_user(u);
    if (!id) throw api_error(errc::conflict, "a user with login '" + u.login + "' exists already");
    auto stored = co_await repo_.user(*id);
    spdlog::info("user '{}' created with role {}", u.login, u.role);
    co_return to_json(*stored);
}

net::awaitable<json> people_service::list_users(principal caller) {
    json out = json::array();
    auto all = co_await repo_.list_users();
    for (const auto& u : all)
        if (caller.scope.contains(principal_of(u).scope)) out.push_back(to_json(u));
    co_return json{{"users", std::move(out)}};
}

net::awaitable<json> people_service::get_user(std::int64_t id, principal caller) {
    auto u = co_await repo_.user(id);
    if (!u) throw api_error(errc::not_found, "no user " + std::to_string(id));
    check_within(caller, *u);
    co_return to_json(*u);
}

net::awaitable<json> people_service::update_user(std::int64_t id, json body, principal caller, contact_check check) {
    if (!body.is_object() || body.empty())
        throw api_error(
            errc::validation_failed,
            "body must name what changes: display_name, role, scope, contact, disabled, password, reset_totp"
        );
    auto found = co_await repo_.user(id);
    if (!found) throw api_error(errc::not_found, "no user " + std::to_string(id));
    check_within(caller, *found);
    store::user_record u = *found;
    bool terms_changed = false;  // the person signs in again under the new terms
    for (auto it = body.begin(); it != body.end(); ++it) {
        const std::string& k = it.key();
        if (k == "display_name") {
            u.display_name = text_member(body, "display_name", kMaxDisplayNameBytes);
        } else if (k == "role") {
            const auto r = parse_role(text_member(body, "role", 16));
            if (!r || !is_person_role(*r))
                throw api_error(errc::validation_failed, "a person's role is viewer, operator, enterprise or admin");
            terms_changed |= u.role != auth::to_string(*r);
            u.role = std::string(auth::to_string(*r));
        } else if (k == "scope") {
            const scope s = parse_scope(*it);
            if (!caller.scope.contains(s))
                throw api_error(errc::forbidden, "the user's scope must lie within your own");
            const std::string text = auth::to_json(s).dump();
            terms_changed |= text != u.scope;
            u.scope = text;
        } else if (k == "contact") {
            u.contact = it->is_null() ? std::nullopt : std::optional<std::string>(text_member(body, "contact", 64));
        } else if (k == "disabled") {
            if (!it->is_boolean()) throw api_error(errc::validation_failed, "disabled must be true or false");
            terms_changed |= it->get<bool>() && !u.disabled;
            u.disabled = it->get<bool>();
        } else if (k == "password") {
            const std::string password = text_member(body, "password", 1024);
            if (auto why = password_problem(password, u.login, cfg_.password_min_length))
                throw api_error(errc::validation_failed, *why);
            u.password_hash = co_await hasher_.hash(password);
            terms_changed = true;
        } else if (k == "reset_totp") {
            if (!it->is_boolean()) throw api_error(errc::validation_failed, "reset_totp must be true");
            if (it->get<bool>()) {
                u.totp_secret.reset();
                u.totp_pending.reset();
                u.recovery_codes.clear();
                terms_changed = true;
            }
        } else {
            throw api_error(errc::validation_failed, "a user has no changeable member '" + k + "'");
        }
    }
    if (principal_of(u).role == role::enterprise && principal_of(u).scope.units.empty())
        throw api_error(errc::validation_failed, "an enterprise user needs a scope with units");
    // A new contact, or a new scope that must still cover the contact kept.
    if (u.contact && (u.contact != found->contact || u.scope != found->scope))
        co_await check(*u.contact, principal_of(u).scope);
    const bool was_city_admin = found->role == "admin" && !found->disabled && found->scope == "{}";
    const bool is_city_admin = u.role == "admin" && !u.disabled && u.scope == "{}";
    if (was_city_admin && !is_city_admin && co_await repo_.count_city_admins() <= 1)
        throw api_error(errc::conflict, "the last enabled admin of the whole city stays one");
    if (!co_await repo_.update_user(u, terms_changed))
        throw api_error(errc::not_found, "no user " + std::to_string(id));
    auto stored = co_await repo_.user(id);
    co_return to_json(*stored);
}

net::awaitable<void> people_service::delete_user(std::int64_t id, principal caller) {
    auto found = co_await repo_.user(id);
    if (!found) throw api_error(errc::not_found, "no user " + std::to_string(id));
    check_within(caller, *found);
    if (caller.user_id == id) throw api_error(errc::conflict, "a user cannot delete themselves");
    if (found->role == "admin" && !found->disabled && found->scope == "{}" && co_await repo_.count_city_admins() <= 1)
        throw api_error(errc::conflict, "the last enabled admin of the whole city stays");
    if (!co_await repo_.delete_user(id)) throw api_error(errc::not_found, "no user " + std::to_string(id));
    spdlog::info("user '{}' deleted", found->login);
}

net::awaitable<std::optional<principal>> people_service::person(std::string login) {
    auto found = co_await repo_.user_by_login(login);
    if (!found || found->disabled) co_return std::nullopt;
    co_return principal_of(*found);
}

net::awaitable<std::map<std::string, std::string>> people_service::display_names() {
    std::map<std::string, std::string> out;
    auto all = co_await repo_.list_users();
    for (const auto& u : all) out.emplace(u.login, u.display_name);
    co_return out;
}

// --- sign-in

bool people_service::address_may_try(const std::string& client) {
    std::lock_guard lock(mutex_);
    return per_address_.try_take(client, std::chrono::steady_clock::now());
}

net::awaitable<people_service::signed_in> people_service::sign_in(
    std::string login,
    std::string password,
    std::optional<std::string> one_time_code,
    std::string client,
    std::optional<std::string> replaced_token
) {
    if (replaced_token) {
        const std::string planted = hash_hex(*replaced_token);
        co_await repo_.delete_session(planted);
    }
    if (!address_may_try(client))
        throw api_error(errc::too_many_requests, "too many sign-ins from this address; wait a minute");
    if (login.empty() || login.size() > kMaxLoginBytes || password.size() > 1024) throw wrong_credentials();
    auto found = co_await repo_.user_by_login(login);
    if (!found || found->disabled) {
        co_await hasher_.waste_like_verify();
        throw wrong_credentials();
    }
    const store::user_record& u = *found;
    const util::micros now = util::now_micros();
    if (u.locked_until && *u.locked_until > now) {
        const auto wait = (*u.locked_until - now) / 1'000'000 + 1;
        throw api_error(
            errc::too_many_requests,
            "this account refuses sign-in for " + std::to_string(wait) + " s after repeated wrong passwords"
        );
    }
    const bool ok = co_await hasher_.verify(u.password_hash, password);
    if (!ok) {
        co_await repo_.record_failure(
            u.id, cfg_.account_max_failures, cfg_.account_lockout_seconds, cfg_.account_lockout_max_seconds
        );
        throw wrong_credentials();
    }
    if (u.totp_secret) {
        if (!one_time_code || one_time_code->empty())
            throw api_error(
                errc::unauthorized, "a one-time code is needed", json::array({json{{"second_factor", "totp"}}})
            );
        bool second_ok = false;
        if (const auto secret = util::base32_decode(*u.totp_secret)) {
            if (const auto step = totp_match(*secret, *one_time_code, now / 1'000'000))
                second_ok = co_await repo_.use_totp_step(u.id, *step);
        }
        if (!second_ok && one_time_code->size() > 6) {
            const std::string code_hash = hash_hex(*one_time_code);
            second_ok = co_await repo_.use_recovery_code(u.id, code_hash);
        }
        if (!second_ok) {
            co_await repo_.record_failure(
                u.id, cfg_.account_max_failures, cfg_.account_lockout_seconds, cfg_.account_lockout_max_seconds
            );
            throw api_error(errc::unauthorized, "wrong one-time code", json::array({json{{"second_factor", "totp"}}}));
        }
    }
    co_await repo_.record_success(u.id);
    if (hasher_.needs_rehash(u.password_hash)) {
        // Stronger parameters from the config apply from this sign-in on.
        store::user_record again = u;
        again.password_hash = co_await hasher_.hash(password);
        co_await repo_.update_user(std::move(again), false);
    }
    signed_in out;
    out.token = util::generate_token("cgs_");
    out.csrf = util::generate_token("");
    out.who = principal_of(u);
    out.who.by_session = true;
    out.max_age_seconds = max_age_seconds();
    const std::string token_hash = hash_hex(out.token);
    co_await repo_.insert_session(token_hash, u.id, out.csrf, client, cfg_.max_sessions_per_user);
    co_return out;
}

net::awaitable<std::optional<people_service::session>> people_service::authenticate(std::string token) {
    if (token.empty() || token.size() > 128) co_return std::nullopt;
    const std::string hash = hash_hex(token);
    auto found = co_await repo_.find_session(hash, cfg_.session_idle_minutes * 60, cfg_.session_absolute_hours * 3600);
    if (!found) co_return std::nullopt;
    // last_seen moves at most once a minute: a busy dashboard does not write on every request.
    if (util::now_micros() - found->last_seen > 60'000'000) co_await repo_.touch_session(hash);
    session out{principal_of(found->user), found->csrf_token};
    out.who.by_session = true;
    co_return out;
}

net::awaitable<void> people_service::sign_out(std::string token) {
    const std::string token_hash = hash_hex(token);
    co_await repo_.delete_session(token_hash);
}

net::awaitable<long> people_service::purge_sessions() {
    auto n = co_await repo_.purge_sessions(cfg_.session_idle_minutes * 60, cfg_.session_absolute_hours * 3600);
    co_return n;
}

// --- second factor

net::awaitable<json> people_service::begin_totp(principal who) {
    if (!who.is_person()) throw api_error(errc::forbidden, "a second factor belongs to a person, not a key");
    auto u = co_await repo_.user(who.user_id);
    if (!u) throw api_error(errc::not_found, "no user " + std::to_string(who.user_id));
    if (u->totp_secret) throw api_error(errc::conflict, "a second factor is enrolled already; an admin can reset it");
    const std::string secret = util::base32_encode(util::random_bytes(20));
    u->totp_pending = secret;
    co_await repo_.update_user(*u, false);
    co_return json{
        {"secret", secret},
        {"otpauth_uri", "otpauth://totp/CityGuard:" + u->login + "?secret=" + secret + "&issuer=CityGuard"}};
}

net::awaitable<json> people_service::confirm_totp(principal who, std::string code) {
    if (!who.is_person()) throw api_error(errc::forbidden, "a second factor belongs to a person, not a key");
    auto u = co_await repo_.user(who.user_id);
    if (!u || !u->totp_pending) throw api_error(errc::conflict, "start enrolment first (POST /api/v1/session/totp)");
    const auto secret = util::base32_decode(*u->totp_pending);
    const auto step = secret ? totp_match(*secret, code, util::now_micros() / 1'000'000) : std::nullopt;
    if (!step) throw api_error(errc::validation_failed, "the code does not match; check the app's clock and try again");
    json codes = json::array();
    u->recovery_codes.clear();
    for (int i = 0; i < kRecoveryCodes; ++i) {
        std::string code_text = util::to_hex(util::random_bytes(8));
        u->recovery_codes.push_back(hash_hex(code_text));
        codes.push_back(std::move(code_text));
    }
    u->totp_secret = u->totp_pending;
    u->totp_pending.reset();
    u->totp_last_step = *step;
    co_await repo_.update_user(*u, false);
    co_return json{{"recovery_codes", std::move(codes)}, {"note", "store these codes now: they are not shown again"}};
}

net::awaitable<void> people_service::change_password(principal who, std::string current, std::string next) {
    if (!who.is_person()) throw api_error(errc::forbidden, "a key has no password");
    auto u = co_await repo_.user(who.user_id);
    if (!u) throw api_error(errc::not_found, "no user " + std::to_string(who.user_id));
    if (!co_await hasher_.verify(u->password_hash, current))
        throw api_error(errc::forbidden, "the current password is wrong");
    if (auto why = password_problem(next, u->login, cfg_.password_min_length))
        throw api_error(errc::validation_failed, *why);
    u->password_hash = co_await hasher_.hash(next);
    co_await repo_.update_user(*u, true);
}

net::awaitable<bool> people_service::bootstrap_admin() {
    if (!cfg_.admin_login || !cfg_.admin_password) co_return false;
    if (!valid_login(*cfg_.admin_login))
        throw std::runtime_error("CITYGUARD_ADMIN_LOGIN must be 1-64 characters of A-Z a-z 0-9 . _ - @");
    if (auto why = password_problem(*cfg_.admin_password, *cfg_.admin_login, cfg_.password_min_length))
        throw std::runtime_error("CITYGUARD_ADMIN_PASSWORD: " + *why);
    if (co_await repo_.user_by_login(*cfg_.admin_login)) co_return false;
    store::user_record u;
    u.login = *cfg_.admin_login;
    u.display_name = *cfg_.admin_login;
    u.role = "admin";
    u.password_hash = co_await hasher_.hash(*cfg_.admin_password);
    const auto id = co_await repo_.insert_user(u);
    const bool created = id.has_value();
    if (created) spdlog::warn("created the first admin account '{}' (CITYGUARD_ADMIN_LOGIN)", u.login);
    co_return created;
}

}  // namespace cityguard::auth
