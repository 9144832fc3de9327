#pragma once

#include <stdexcept>
#include <string>

namespace cityguard::store {

/// What kept the store from doing its work, in the terms its callers act on.
enum class failure {
    unavailable,  ///< the database cannot be reached (or the connection broke)
    overloaded,   ///< too much work queued for the pool (db.max_queued)
    conflict,     ///< the write contradicts stored data (a unique key)
};

/// The store's own error. The api layer maps it to an HTTP status (api/errors.hpp); nothing in
/// the store knows about HTTP.
class error : public std::runtime_error {
  public:
    error(failure kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
    failure kind() const noexcept { return kind_; }

  private:
    failure kind_;
};

}  // namespace cityguard::store
