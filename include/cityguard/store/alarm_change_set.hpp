#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/store/writer_connection.hpp"

namespace cityguard::store {

/// Everything one alarm change writes (alarms::alarm_transaction builds it): the rule engine's
/// alarm rows with their events and rule states, and what the escalation made of them. New
/// alarms carry provisional ids -1, -2, ... in the order they appear in `alarms`. The
/// escalation's output may name any of them (naming one that is not there is a programming error:
/// std::logic_error, nothing written); a compound's members and `inhibited_by` are resolved
/// against the alarms before it (the engine raises members before their compound), else stored
/// as unknown.
struct alarm_change_set {
    const alarm_model::changes& alarms;
    const notification_model::escalation_output& escalation;
};

struct alarm_change_result {
    /// The database's id of each new alarm, in order: provisional id -(i + 1) is new_ids[i]. An
    /// insert that met an open alarm of the same rule and subject (another process's) merged
    /// into it and returns that alarm's id.
    std::vector<std::int64_t> new_ids;
    std::size_t outbox_rows = 0;  ///< notification rows added: one per contact and channel of a notice
};

/// Writes the change set inside `tx`, the writer's open transaction: alarm rows and their
/// events, rule states, deadline state, escalation events, outbox rows; then one pg_notify
/// naming the last event, which listeners (this process's feed included) read back by seq once
/// this commits. Takes the event-order lock before the first event, so `seq` follows commit
/// order. Blocking; writer thread.
alarm_change_result write_alarm_change_set(transaction_scope& tx, const alarm_change_set& set);

}  // namespace cityguard::store
