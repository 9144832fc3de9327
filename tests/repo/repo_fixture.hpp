#pragma once
// The repository tier: each store repository against a real PostgreSQL (a scratch database of
// the suite's throwaway cluster, migrated), without the server. What the store writes is read
// back through the store, and where it matters, through SQL.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <thread>

#include "../support/test_env.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/migrations.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/writer_connection.hpp"

namespace cityguard::test {

class repo_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (cluster_dsn().empty()) GTEST_SKIP() << "no PostgreSQL cluster: run through ctest (fixture)";
        scratch_ = std::make_unique<scratch_database>();
        store::migrate(scratch_->url(), store::embedded_migrations());
        store::ensure_partitions_around_today(scratch_->url(), 2, 2);
        cfg_.url = scratch_->url();
        db_ = std::make_unique<store::database>(cfg_);
        io_thread_ = std::thread([this] { ioc_.run(); });
    }

    void TearDown() override {
        if (!scratch_) return;
        work_.reset();
        ioc_.stop();
        if (io_thread_.joinable()) io_thread_.join();
        if (writer_) writer_.reset();
        db_->stop();
        db_.reset();
        scratch_.reset();
    }

    /// Runs a repository coroutine on the test's I/O thread and waits for its result.
    template <class T>
    T await(boost::asio::awaitable<T> task) {
        return boost::asio::co_spawn(ioc_, std::move(task), boost::asio::use_future).get();
    }

    store::database& db() { return *db_; }
    const scratch_database& sql() const { return *scratch_; }
    /// The writer's own connection, opened on first use and leading (only the leader writes).
    store::writer_connection& writer() {
        if (!writer_) {
            writer_ = std::make_unique<store::writer_connection>(scratch_->url());
            if (!writer_->try_lead("repo-test")) throw std::runtime_error("the test's writer could not lead");
        }
        return *writer_;
    }
    /// The same connection, opened without bidding for the lead.
    store::writer_connection& follower_writer() {
        if (!writer_) writer_ = std::make_unique<store::writer_connection>(scratch_->url());
        return *writer_;
    }

    /// One unit, its gas station GS-1 in 福田区 with sensor GS-1-LEL, and the unit's safety
    /// officer (enterprise tier) reached by the "log" channel. Returns the sensor's key.
    std::int32_t register_station() {
        store::registry_repo registry(db());
        store::registry_document doc;
        doc.units.push_back({"U-1", "梅林加油站有限公司", std::nullopt, std::nullopt, 0});
        registry::site_record site;
        site.id = "GS-1";
        site.name = "梅林加油站";
        site.domain = "gas_station";
        site.district = "福田区";
        site.lat = 22.57;
        site.lon = 114.05;
        site.unit = "U-1";
        doc.sites.push_back(site);
        registry::sensor_record sensor;
        sensor.id = "GS-1-LEL";
        sensor.site = "GS-1";
        sensor.kind = "gas_lel";
        sensor.unit = "%LEL";
        doc.sensors.push_back(sensor);
        registry::contact_record officer;
        officer.id = "C-1";
        officer.name = "安全员";
        officer.tier = "enterprise";
        officer.unit = "U-1";
        officer.channels = {"log"};
        doc.contacts.push_back(officer);
        auto written = await(registry.upsert(doc));
        EXPECT_TRUE(std::holds_alternative<store::upsert_counts>(written));
        return static_cast<std::int32_t>(std::stoi(sql().query_value("SELECT key FROM sensors WHERE id = 'GS-1-LEL'")));
    }

  private:
    std::unique_ptr<scratch_database> scratch_;
    config::db_config cfg_;
    std::unique_ptr<store::database> db_;
    std::unique_ptr<store::writer_connection> writer_;
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(ioc_);
    std::thread io_thread_;
};

}  // namespace cityguard::test
