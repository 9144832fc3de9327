#include <algorithm>

#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/resources_repo.hpp"
#include "repo_fixture.hpp"

using namespace cityguard;
using cityguard::test::repo_test;

namespace {

class MigrationsRepo : public repo_test {};
class RegistryRepo : public repo_test {};
class ResourcesRepo : public repo_test {};
class KeysRepo : public repo_test {};
class ClusterRepo : public repo_test {};

}  // namespace

TEST_F(MigrationsRepo, ASecondRunAppliesNothing) {
    // The fixture migrated the database; the schema is current, so nothing is applied again.
    EXPECT_TRUE(store::migrate(sql().url(), store::embedded_migrations()).empty());
    EXPECT_EQ(
        sql().query_value("SELECT count(*) FROM schema_migrations"), std::to_string(store::embedded_migrations().size())
    );
}

TEST_F(RegistryRepo, ADocumentIsWrittenWholeAndReadBack) {
    const auto key = register_station();
    EXPECT_GT(key, 0) << "the database assigns the compact key";
    store::registry_repo registry(db());
    const auto site = await(registry.get_site("GS-1"));
    ASSERT_TRUE(site);
    EXPECT_EQ(site->district, "福田区");
    EXPECT_EQ(site->unit, "U-1");
    const auto sensors = await(registry.all_sensors());
    ASSERT_EQ(sensors.size(), 1u);
    EXPECT_EQ(sensors[0].key, key);
    EXPECT_EQ(sensors[0].domain, "gas_station") << "the directory read carries the site's domain";
    const auto contacts = await(registry.contacts_of_site("GS-1"));
    ASSERT_EQ(contacts.size(), 1u);
    EXPECT_EQ(contacts[0].channels, std::vector<std::string>{"log"});
}

TEST_F(RegistryRepo, AMissingReferenceWritesNothingAndNamesTheItem) {
    store::registry_repo registry(db());
    store::registry_document doc;
    registry::site_record site;
    site.id = "S-OK";
    site.name = "ok";
    site.domain = "gas_station";
    site.district = "福田区";
    doc.sites.push_back(site);
    registry::sensor_record orphan;
    orphan.id = "X-1";
    orphan.site = "NO-SUCH-SITE";
    orphan.kind = "gas_lel";
    orphan.unit = "%LEL";
    doc.sensors.push_back(orphan);
    const auto result = await(registry.upsert(doc));
    const auto* missing = std::get_if<std::vector<store::missing_reference>>(&result);
    ASSERT_NE(missing, nullptr);
    ASSERT_EQ(missing->size(), 1u);
    EXPECT_EQ((*missing)[0].id, "X-1");
    EXPECT_EQ((*missing)[0].target, "NO-SUCH-SITE");
    EXPECT_EQ(sql().query_value("SELECT count(*) FROM sites"), "0") << "the valid site is not written either";
}

TEST_F(ResourcesRepo, ATeamNearAnAlarmIsACandidate) {
    register_station();
    store::registry_repo registry(db());
    store::registry_document doc;
    registry::resource_record team;
    team.id = "T-1";
    team.kind = "team";
    team.name = "福田消防救援站";
    team.district = "福田区";
    team.lat = 22.56;
    team.lon = 114.06;
    team.team_kind = "fire";
    team.size = 12;
    team.on_duty = true;
    doc.resources.push_back(team);
    ASSERT_TRUE(std::holds_alternative<store::upsert_counts>(await(registry.upsert(doc))));
    store::resources_repo resources(db());
    store::nearest_query q;
    q.lat = 22.57;
    q.lon = 114.05;
    q.teams = 3;
    const auto near = await(resources.nearest(q));
    ASSERT_EQ(near.size(), 1u);
    EXPECT_EQ(near[0].id, "T-1");
    EXPECT_EQ(near[0].team_kind, "fire");
    EXPECT_TRUE(await(resources.remove("T-1")));
    EXPECT_FALSE(await(resources.remove("T-1")));
}

TEST_F(KeysRepo, ANameIsTakenOnceAndRemovedOnce) {
    store::keys_repo keys(db());
    EXPECT_TRUE(await(keys.insert({"ops", "admin", 0, "{}", "{}"}, std::string(64, 'a'))));
    EXPECT_FALSE(await(keys.insert({"ops", "operator", 0, "{}", "{}"}, std::string(64, 'b')))) << "the name exists";
    EXPECT_TRUE(await(keys.insert({"ft", "admin", 0, R"({"districts":["福田区"]})", "{}"}, std::string(64, 'c'))));
    EXPECT_EQ(await(keys.count_admins()), 1) << "admins of the whole city only";
    const auto found = await(keys.find(std::string(64, 'c')));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->name, "ft");
    EXPECT_EQ(nlohmann::json::parse(found->scope), nlohmann::json::parse(R"({"districts":["福田区"]})"));
    EXPECT_FALSE(await(keys.find(std::string(64, 'd'))));
    EXPECT_TRUE(await(keys.remove("ft")));
    const auto listed = await(keys.list());
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].role, "admin");
    EXPECT_TRUE(await(keys.remove("ops")));
    EXPECT_FALSE(await(keys.remove("ops")));
    EXPECT_EQ(await(keys.count_admins()), 0);
}

TEST_F(ClusterRepo, AnInstanceIsListedLeadsWithTheLockAndIsForgotten) {
    store::cluster_repo cluster(db());
    await(cluster.heartbeat("a:1", "http://127.0.0.1:1", "0.1.0", 60));
    auto members = await(cluster.members());
    ASSERT_EQ(members.size(), 1u);
    EXPECT_EQ(members[0].url, "http://127.0.0.1:1");
    EXPECT_FALSE(members[0].leading) << "no connection holds the lock yet";
    ASSERT_TRUE(follower_writer().try_lead("a:1"));
    const auto leader = await(cluster.leader());
    ASSERT_TRUE(leader);
    EXPECT_EQ(leader->first, "a:1");
    follower_writer().resign();
    await(cluster.forget("a:1"));
    EXPECT_TRUE(await(cluster.members()).empty());
}
