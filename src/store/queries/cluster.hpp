#pragma once
// Cluster membership, leadership and change announcements (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

// Cluster (sql/0016_cluster.sql, docs/scaling.md). Leadership is the session-level advisory lock
// (437356841, 1) on the leader's writer connection; pg_locks says who holds it in this database.
#define CITYGUARD_LEADER_LOCK_HOLDER                                                             \
    "LEFT JOIN pg_locks l ON l.locktype = 'advisory' AND l.classid = 437356841 AND l.objid = 1 " \
    "AND l.objsubid = 2 AND l.granted AND l.pid = m.writer_pid "                                 \
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
inline constexpr query try_leader_lock{"try_leader_lock", "SELECT pg_try_advisory_lock(437356841, 1)"};
inline constexpr query mark_leader{
    "mark_leader",
    "INSERT INTO cluster_members (id, url, version, writer_pid, leader_since) "
    "VALUES ($1, '', $2, pg_backend_pid(), now()) ON CONFLICT (id) DO UPDATE SET "
    "writer_pid = EXCLUDED.writer_pid, leader_since = EXCLUDED.leader_since, seen_at = now()"};
inline constexpr query upsert_member{
    "upsert_member",
    "INSERT INTO cluster_members (id, url, version) VALUES ($1, $2, $3) "
    "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, version = EXCLUDED.version, seen_at = now()"};
inline constexpr query prune_members{
    "prune_members", "DELETE FROM cluster_members WHERE seen_at < now() - make_interval(secs => $1)"};
inline constexpr query forget_member{"forget_member", "DELETE FROM cluster_members WHERE id = $1"};
inline constexpr query list_members{
    "list_members",
    "SELECT m.id, m.url, m.version, (extract(epoch FROM m.started_at) * 1000000)::bigint, "
    "(extract(epoch FROM m.seen_at) * 1000000)::bigint, "
    "(extract(epoch FROM now() - m.seen_at) * 1000)::bigint, l.pid IS NOT NULL, "
    "(extract(epoch FROM m.leader_since) * 1000000)::bigint "
    "FROM cluster_members m " CITYGUARD_LEADER_LOCK_HOLDER "ORDER BY m.started_at, m.id"};
inline constexpr query leader_member{
    "leader_member",
    "SELECT m.id, m.url FROM cluster_members m " CITYGUARD_LEADER_LOCK_HOLDER
    "WHERE l.pid IS NOT NULL AND m.url <> '' ORDER BY m.seen_at DESC LIMIT 1"};
#undef CITYGUARD_LEADER_LOCK_HOLDER
inline constexpr query announce_change{"announce_change", "SELECT pg_notify('cityguard_changes', $1)"};

}  // namespace cityguard::store::queries
