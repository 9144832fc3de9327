#pragma once
// Private to store/: the concrete transaction behind store::transaction_scope.

#include <pqxx/pqxx>

#include "cityguard/store/writer_connection.hpp"

namespace cityguard::store {

class pqxx_scope final : public transaction_scope {
  public:
    explicit pqxx_scope(pqxx::work& tx) : tx_(tx) {}
    pqxx::work& tx() { return tx_; }

  private:
    pqxx::work& tx_;
};

}  // namespace cityguard::store
