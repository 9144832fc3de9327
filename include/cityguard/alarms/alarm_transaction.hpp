#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "cityguard/alarm_model/engine.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/util/time.hpp"

/// The one owner of an alarm change, from what the models staged to the commit. See
/// docs/architecture.md, "The write path".
namespace cityguard::alarms {

/// Stages, writes, commits and rolls back the rule engine's and the escalation's changes
/// together; nothing else does. The escalation's state lives in `notification_model::escalation` (the working
/// copy, writer thread) and in the alarms' deadline columns (its durable image), and only a
/// change set written here moves either.
///
/// One change goes:
///   1. the engine stages a change set (evaluate, tick, act, retire_removed);
///   2. write() gives its new alarms provisional ids (-1, -2, ...), so the escalation observes
///      the whole change before anything is written, and adds its own timer step;
///   3. one store call writes alarm rows, events, rule states, deadlines and outbox rows and
///      sends one pg_notify, turning the provisional ids into the database's;
///   4. those ids go back to the engine and the escalation;
///   5. commit() once the database committed, rollback() if it did not: both models at once.
///
/// Writer thread only, except the silence intake (set_silences, put_silence): any thread.
class alarm_transaction {
  public:
    /// `raised` counts committed new alarms by (level, domain) for /metrics.
    alarm_transaction(
        alarm_model::engine& engine, notification_model::escalation& escalation, metrics::labeled_counter& raised
    )
        : engine_(engine), escalation_(escalation), raised_(raised) {}

    /// Called after a commit that added outbox rows (wakes the dispatcher). Set before the writer starts.
    void on_outbox(std::function<void()> wake) { wake_outbox_ = std::move(wake); }

    /// Starts a change: whatever an earlier attempt staged and did not finish is rolled back,
    /// and the silences handed over since the last change reach the escalation.
    void begin();
    /// Steps 2–4 inside `tx`, the writer's open transaction. `ch` is what the engine staged,
    /// `due` the escalation's own timer step (tick). Throws what the store throws; the caller
    /// then rolls back.
    void write(store::transaction_scope& tx, alarm_model::changes ch, notification_model::escalation_output due = {});
    void commit();
    void rollback();
    /// A change of its own (timer step, operator's action, reload): write() in a transaction of
    /// its own, then commit() or rollback(). Throws what the store throws, after the rollback.
    void run(
        store::writer_connection& connection, alarm_model::changes ch, notification_model::escalation_output due = {}
    );

    /// The silences in force and to come (start-up, taking the lead): replaces the escalation's
    /// set at the next begin(). Any thread.
    void set_silences(std::vector<notification_model::silence> silences);
    /// A silence created or ended early: reaches the escalation at the next begin() or
    /// apply_silences(). Any thread.
    void put_silence(notification_model::silence s);
    /// Hands what the API's threads gave over to the escalation now. Writer thread.
    void apply_silences();

  private:
    /// New alarms get provisional ids in order; a compound member that is one of them learns it.
    static std::size_t give_provisional_ids(alarm_model::changes& ch);
    /// Raised, escalated and reactivated events caused by a reading get the newest video evidence
    /// of the alarm's sensors (docs/evidence.md), and the alarm with them.
    static void attach_evidence(store::transaction_scope& tx, alarm_model::changes& ch);

    alarm_model::engine& engine_;
    notification_model::escalation& escalation_;
    metrics::labeled_counter& raised_;
    std::function<void()> wake_outbox_;
    // Staged by write(), settled by commit() or rollback().
    std::vector<std::vector<std::string>> staged_raised_;  // (level, domain) of each new alarm
    std::size_t staged_outbox_rows_ = 0;
    // The silence intake from other threads.
    std::mutex silences_mutex_;
    std::optional<std::vector<notification_model::silence>> next_silences_;  // a whole set to replace the escalation's
    std::vector<notification_model::silence> put_silences_;                  // then these, one by one
};

}  // namespace cityguard::alarms
