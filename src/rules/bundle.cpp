#include "cityguard/rules/bundle.hpp"

#include <algorithm>
#include <set>

namespace cityguard::rules {

using json = nlohmann::json;

// An item of a bundle ("8+8": eight video items and eight IoT items) is covered by any sensor
// of one of its kinds.
bool bundle_item::serves(std::string_view sensor_kind) const noexcept {
    return std::any_of(kinds.begin(), kinds.end(), [&](const std::string& k) { return kind_matches(k, sensor_kind); });
}

namespace {

text text_of(const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("zh") || !j.contains("en") || !j["zh"].is_string() || !j["en"].is_string() ||
        j["zh"].get<std::string>().empty() || j["en"].get<std::string>().empty())
        throw pack_error(where + "'name' must be {\"zh\":\"...\",\"en\":\"...\"}, both non-empty");
    return {j["zh"].get<std::string>(), j["en"].get<std::string>()};
}

std::vector<std::string> strings_of(const json& o, const char* key, const std::string& where, bool may_be_empty) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_array() || (!may_be_empty && it->empty()))
        throw pack_error(
            where + "'" + key + "' must be " + (may_be_empty ? "an array" : "a non-empty array") + " of strings"
        );
    std::vector<std::string> out;
    for (const auto& s : *it) {
        if (!s.is_string() || s.get<std::string>().empty())
            throw pack_error(where + "'" + key + "' must hold non-empty strings");
        out.push_back(s.get<std::string>());
    }
    return out;
}

void only_keys(const json& o, const std::set<std::string>& allowed, const std::string& where) {
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!allowed.count(it.key())) throw pack_error(where + "unknown field '" + it.key() + "'");
}

}  // namespace

std::optional<bundle> parse_bundle(const json& pack, const std::string& file, const std::vector<rule>& rules) {
    if (!pack.is_object() || !pack.contains("bundle")) return std::nullopt;
    const json& j = pack["bundle"];
    const std::string id = j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
    const std::string where = file + ": bundle " + (id.empty() ? "?" : id) + ": ";
    if (!j.is_object()) throw pack_error(where + "a bundle must be an object");
    if (id.empty()) throw pack_error(where + "missing 'id'");
    only_keys(j, {"id", "name", "source", "items"}, where);
    bundle b;
    b.id = id;
    b.domain = pack.value("domain", "");
    b.name = text_of(j.value("name", json()), where);
    b.source = j.value("source", json()).is_string() ? j["source"].get<std::string>() : "";
    if (b.source.empty()) throw pack_error(where + "missing 'source' (where the item list comes from)");
    auto items = j.find("items");
    if (items == j.end() || !items->is_array() || items->empty())
        throw pack_error(where + "'items' must be a non-empty array");
    std::set<std::string> known;
    for (const auto& r : rules)
        if (r.domain == b.domain) known.insert(r.id);
    std::set<std::string> item_ids;
    for (const auto& ij : *items) {
        const std::string iid =
            ij.is_object() && ij.contains("id") && ij["id"].is_string() ? ij["id"].get<std::string>() : "";
        const std::string at = where + "item " + (iid.empty() ? "?" : iid) + ": ";
        if (!ij.is_object() || iid.empty()) throw pack_error(at + "each item needs an 'id'");
        only_keys(ij, {"id", "type", "name", "kinds", "rules", "required"}, at);
        if (!item_ids.insert(iid).second) throw pack_error(at + "duplicate item id");
        bundle_item item;
        item.id = iid;
        item.type = ij.value("type", json()).is_string() ? ij["type"].get<std::string>() : "";
        if (item.type != "video" && item.type != "iot") throw pack_error(at + "'type' must be video or iot");
        item.name = text_of(ij.value("name", json()), at);
        item.kinds = strings_of(ij, "kinds", at, false);
        item.rules = strings_of(ij, "rules", at, true);
        for (const auto& r : item.rules)
            if (!known.count(r)) throw pack_error(at + "unknown rule '" + r + "' (not in domain " + b.domain + ")");
        if (ij.contains("required")) {
            if (!ij["required"].is_boolean()) throw pack_error(at + "'required' must be true or false");
            item.required = ij["required"].get<bool>();
        }
        b.items.push_back(std::move(item));
    }
    return b;
}

// Bundles refer to rules by id: checked against the loaded rules, so a bundle never promises
// coverage by a rule that does not exist.
std::vector<bundle> load_bundles(const std::string& dir, const std::vector<rule>& rules) {
    std::vector<bundle> out;
    std::set<std::string> ids;
    for (const auto& [file, doc] : read_packs(dir)) {
        if (auto b = parse_bundle(doc, file, rules)) {
            if (!ids.insert(b->id).second) throw pack_error(file + ": bundle " + b->id + ": duplicate id");
            out.push_back(std::move(*b));
        }
    }
    return out;
}

json to_json(const bundle& b) {
    json items = json::array();
    for (const auto& i : b.items)
        items.push_back(
            {{"id", i.id},
             {"type", i.type},
             {"name", {{"zh", i.name.zh}, {"en", i.name.en}}},
             {"kinds", i.kinds},
             {"rules", i.rules},
             {"required", i.required}}
        );
    return {
        {"id", b.id},
        {"domain", b.domain},
        {"name", {{"zh", b.name.zh}, {"en", b.name.en}}},
        {"source", b.source},
        {"items", std::move(items)}};
}

}  // namespace cityguard::rules
