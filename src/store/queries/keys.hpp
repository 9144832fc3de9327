#pragma once
// API keys (sql/0001_init.sql, 0014_monitor_role.sql, 0017_people.sql): what keys_repo runs (part of queries.hpp: see
// there).

#include "common.hpp"

namespace cityguard::store::queries {

inline constexpr query key_table{"key_table", "SELECT key_hash, name, role, scope::text, binding::text FROM api_keys"};
inline constexpr query find_key{
    "find_key", "SELECT name, role, scope::text, binding::text FROM api_keys WHERE key_hash = $1"};
inline constexpr query insert_key{
    "insert_key",
    "INSERT INTO api_keys (name, role, key_hash, scope, binding) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb) "
    "ON CONFLICT (name) DO NOTHING RETURNING name"};
inline constexpr query upsert_key{
    "upsert_key",
    "INSERT INTO api_keys (name, role, key_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, key_hash = EXCLUDED.key_hash"};
inline constexpr query list_keys{
    "list_keys",
    "SELECT name, role, (extract(epoch FROM created_at) * 1000000)::bigint, scope::text, binding::text FROM api_keys "
    "ORDER BY name"};
inline constexpr query delete_key{"delete_key", "DELETE FROM api_keys WHERE name = $1 RETURNING name"};
inline constexpr query count_admin_keys{
    "count_admin_keys", "SELECT count(*) FROM api_keys WHERE role = 'admin' AND scope = '{}'::jsonb"};

}  // namespace cityguard::store::queries
