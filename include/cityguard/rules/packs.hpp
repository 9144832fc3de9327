#pragma once

#include <string>
#include <vector>

#include "cityguard/rules/bundle.hpp"
#include "cityguard/rules/domain.hpp"
#include "cityguard/rules/rule.hpp"

namespace cityguard::rules {

/// Everything the rule packs of a directory declare: rules, bundles and domains, each checked.
struct pack_set {
    std::vector<rule> rules;
    std::vector<bundle> bundles;
    domain_catalog domains;
};

/// Reads and checks every pack of `dir`; throws pack_error (file, rule, reason) and loads
/// nothing on the first fault. Start-up, reload and takeover all load through here.
pack_set load_pack_set(const std::string& dir);

}  // namespace cityguard::rules
