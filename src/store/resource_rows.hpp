#pragma once
// The one mapping between emergency resources and their rows, shared by resources_repo (reads)
// and registry_repo (writes, inside a registry document's transaction).

#include <pqxx/pqxx>

#include "cityguard/registry/records.hpp"

namespace cityguard::store {

/// A row of CITYGUARD_RESOURCE_COLUMNS.
registry::resource_record resource_from(const pqxx::row& row);

/// Inserts or replaces one resource, its tags computed from its fields; true when inserted.
bool upsert_resource(pqxx::work& tx, const registry::resource_record& r);

}  // namespace cityguard::store
