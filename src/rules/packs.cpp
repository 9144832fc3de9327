#include "cityguard/rules/packs.hpp"

namespace cityguard::rules {

// A rule's domain is its pack's, and the catalog is made of the packs' declarations: every rule's
// domain is in the catalog by construction.
pack_set load_pack_set(const std::string& dir) {
    pack_set out;
    out.rules = load_packs(dir);
    out.bundles = load_bundles(dir, out.rules);
    out.domains = load_domains(dir);
    return out;
}

}  // namespace cityguard::rules
