// Users, sessions and the audit trail against a scratch database (sql/0017_people.sql).
#include "cityguard/store/people_repo.hpp"

#include <gtest/gtest.h>

#include "repo_fixture.hpp"

using namespace cityguard;
using cityguard::test::repo_test;

namespace {
class PeopleRepo : public repo_test {};
class AuditRepo : public repo_test {};

store::user_record user(const std::string& login, const std::string& role = "operator") {
    store::user_record u;
    u.login = login;
    u.display_name = login;
    u.role = role;
    u.password_hash = "$argon2id$stand-in";
    return u;
}
}  // namespace

TEST_F(PeopleRepo, ALoginIsTakenOnceAndFailuresLockTheAccountForAWhile) {
    store::people_repo people(db());
    const auto id = await(people.insert_user(user("ann")));
    ASSERT_TRUE(id);
    EXPECT_FALSE(await(people.insert_user(user("ann")))) << "the login exists";
    EXPECT_EQ(await(people.count_city_admins()), 0);
    auto admin = user("root", "admin");
    ASSERT_TRUE(await(people.insert_user(admin)));
    auto district_admin = user("ft-admin", "admin");
    district_admin.scope = R"({"districts":["福田区"]})";
    ASSERT_TRUE(await(people.insert_user(district_admin)));
    EXPECT_EQ(await(people.count_city_admins()), 1) << "admins of the whole city only";

    // Two failures of a limit of two lock for 1 s; the third doubles it (capped at 3 s).
    await(people.record_failure(*id, 2, 1, 3));
    EXPECT_FALSE(await(people.user(*id))->locked_until);
    await(people.record_failure(*id, 2, 1, 3));
    const auto locked = await(people.user(*id));
    ASSERT_TRUE(locked->locked_until);
    EXPECT_EQ(locked->failed_signins, 2);
    await(people.record_failure(*id, 2, 1, 3));
    await(people.record_failure(*id, 2, 1, 3));
    const auto longer = await(people.user(*id));
    EXPECT_LE(*longer->locked_until - util::now_micros(), 3'100'000) << "never longer than the cap";
    await(people.record_success(*id));
    EXPECT_FALSE(await(people.user(*id))->locked_until);
    EXPECT_EQ(await(people.user(*id))->failed_signins, 0);

    // A TOTP step and a recovery code are good once.
    EXPECT_TRUE(await(people.use_totp_step(*id, 100)));
    EXPECT_FALSE(await(people.use_totp_step(*id, 100)));
    EXPECT_FALSE(await(people.use_totp_step(*id, 99)));
    auto with_codes = *await(people.user(*id));
    with_codes.recovery_codes = {"aa", "bb"};
    ASSERT_TRUE(await(people.update_user(with_codes, false)));
    EXPECT_TRUE(await(people.use_recovery_code(*id, "aa")));
    EXPECT_FALSE(await(people.use_recovery_code(*id, "aa")));
    EXPECT_EQ(await(people.user(*id))->recovery_codes, std::vector<std::string>{"bb"});
}

TEST_F(PeopleRepo, SessionsAreFoundWhileLiveTrimmedPerPersonAndEndedWithTheTerms) {
    store::people_repo people(db());
    const auto id = *await(people.insert_user(user("bob")));
    for (int i = 0; i < 3; ++i) await(people.insert_session("tok" + std::to_string(i), id, "csrf", "127.0.0.1", 2));
    EXPECT_FALSE(await(people.find_session("tok0", 1800, 43200))) << "the oldest beyond two ended";
    const auto live = await(people.find_session("tok2", 1800, 43200));
    ASSERT_TRUE(live);
    EXPECT_EQ(live->user.login, "bob");
    EXPECT_EQ(live->csrf_token, "csrf");
    sql().exec("UPDATE user_sessions SET last_seen = now() - interval '2 hours' WHERE token_hash = 'tok1'");
    EXPECT_FALSE(await(people.find_session("tok1", 1800, 43200))) << "idle too long";
    EXPECT_EQ(await(people.purge_sessions(1800, 43200)), 1);
    auto changed = *await(people.user(id));
    changed.role = "viewer";
    ASSERT_TRUE(await(people.update_user(changed, true)));
    EXPECT_FALSE(await(people.find_session("tok2", 1800, 43200))) << "new terms: signed out";
    EXPECT_EQ(await(people.user(id))->role, "viewer");
    EXPECT_EQ(await(people.delete_session("tok2")), std::nullopt);
}

TEST_F(AuditRepo, RowsChainAndOldMonthsGoWhole) {
    store::audit_repo audit(db());
    store::audit_record r;
    r.actor = "admin";
    r.client = "127.0.0.1";
    r.action = "POST /api/v1/keys";
    r.detail = R"({"name":"gw"})";
    r.status = 201;
    EXPECT_EQ(await(audit.append(r)), 1);
    r.user_id = 7;
    r.actor = "user:ann";
    EXPECT_EQ(await(audit.append(r)), 2);
    const auto rows = await(audit.list({}));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].seq, 2) << "newest first";
    EXPECT_EQ(rows[0].user_id, 7);
    store::audit_filter by_actor;
    by_actor.actor = "admin";
    EXPECT_EQ(await(audit.list(by_actor)).size(), 1u);
    auto v = await(audit.verify());
    EXPECT_EQ(v.rows, 2);
    EXPECT_FALSE(v.broken_at);
    EXPECT_TRUE(v.head_matches);

    // Removing the newest row (past the trigger) shows at the head.
    sql().exec(
        "ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE seq = 2; "
        "ALTER TABLE audit_log ENABLE TRIGGER USER"
    );
    EXPECT_FALSE(await(audit.verify()).head_matches);

    // Retention drops whole months: a cutoff in the future drops this one.
    EXPECT_EQ(await(audit.drop_before(util::now_micros() + 40LL * 86'400'000'000LL)), 1);
    EXPECT_EQ(await(audit.verify()).rows, 0);
    EXPECT_EQ(await(audit.append(r)), 3) << "the chain goes on after a drop";
}
