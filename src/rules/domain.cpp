#include "cityguard/rules/domain.hpp"

#include <cctype>
#include <set>

namespace cityguard::rules {

using json = nlohmann::json;

namespace {

bool catalog_id_ok(const std::string& id) {
    if (id.empty() || id.size() > 48 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

bool color_ok(const std::string& c) {
    if (c.size() != 7 || c[0] != '#') return false;
    for (std::size_t i = 1; i < c.size(); ++i)
        if (!std::isxdigit(static_cast<unsigned char>(c[i]))) return false;
    return true;
}

text bilingual_text(const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("zh") || !j.contains("en") || !j["zh"].is_string() || !j["en"].is_string())
        throw pack_error(where + " must be {\"zh\":\"...\",\"en\":\"...\"}");
    return {j["zh"].get<std::string>(), j["en"].get<std::string>()};
}

std::optional<double> kind_bound(const json& kind, const char* name, const std::string& where) {
    auto it = kind.find(name);
    if (it == kind.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) throw pack_error(where + ": '" + name + "' must be a number");
    return it->get<double>();
}

}  // namespace

domain_catalog::domain_catalog(std::vector<domain_info> domains) : domains_(std::move(domains)) {}

const domain_info* domain_catalog::find(std::string_view id) const noexcept {
    for (const auto& d : domains_)
        if (d.id == id) return &d;
    return nullptr;
}

std::string domain_catalog::listed() const {
    std::string out;
    for (const auto& d : domains_) out += (out.empty() ? "" : ", ") + d.id;
    return out;
}

// The catalog fields sit beside "rules" at the top of a pack, so one file is one domain.
domain_info parse_domain(const json& pack, const std::string& file) {
    if (!pack.is_object() || !pack.contains("domain") || !pack["domain"].is_string())
        throw pack_error(file + ": a pack must name its \"domain\"");
    domain_info d;
    d.file = file;
    d.id = pack["domain"].get<std::string>();
    if (!catalog_id_ok(d.id))
        throw pack_error(file + ": domain must be 1-48 characters of a-z 0-9 _, starting with a letter");
    if (!pack.contains("name")) throw pack_error(file + ": the pack needs the domain's \"name\" {\"zh\",\"en\"}");
    d.name = bilingual_text(pack["name"], file + ": name");
    d.color = pack.value("color", "");
    if (!color_ok(d.color)) throw pack_error(file + ": color must be \"#rrggbb\"");
    d.icon = pack.value("icon", "");
    if (!catalog_id_ok(d.icon)) throw pack_error(file + ": icon must be a symbol name (a-z 0-9 _)");
    const auto kinds = pack.find("sensor_kinds");
    if (kinds == pack.end() || !kinds->is_array() || kinds->empty())
        throw pack_error(file + ": \"sensor_kinds\" must list the kinds the domain uses");
    std::set<std::string> seen;
    for (const auto& k : *kinds) {
        if (!k.is_object() || !k.contains("kind") || !k["kind"].is_string())
            throw pack_error(file + ": every sensor kind needs {\"kind\",\"name\",\"unit\"}");
        sensor_kind_info info;
        info.kind = k["kind"].get<std::string>();
        const std::string where = file + ": sensor kind " + info.kind;
        if (!seen.insert(info.kind).second) throw pack_error(where + ": listed twice");
        for (auto it = k.begin(); it != k.end(); ++it)
            if (it.key() != "kind" && it.key() != "name" && it.key() != "unit" && it.key() != "min" &&
                it.key() != "max")
                throw pack_error(where + ": unknown field '" + it.key() + "'");
        info.name = bilingual_text(k.value("name", json()), where + ": name");
        if (!k.contains("unit") || !k["unit"].is_string())
            throw pack_error(where + ": unit must be text (\"\" for none)");
        info.unit = k["unit"].get<std::string>();
        info.min = kind_bound(k, "min", where);
        info.max = kind_bound(k, "max", where);
        if (info.min && info.max && *info.min >= *info.max) throw pack_error(where + ": min must be below max");
        d.kinds.push_back(std::move(info));
    }
    return d;
}

domain_catalog load_domains(const std::vector<std::pair<std::string, json>>& packs) {
    std::vector<domain_info> out;
    for (const auto& [file, doc] : packs) {
        auto d = parse_domain(doc, file);
        for (const auto& earlier : out)
            if (earlier.id == d.id)
                throw pack_error(file + ": domain " + d.id + " is declared by " + earlier.file + " already");
        out.push_back(std::move(d));
    }
    return domain_catalog(std::move(out));
}

domain_catalog load_domains(const std::string& dir) { return load_domains(read_packs(dir)); }

json to_json(const domain_info& d) {
    json kinds = json::array();
    for (const auto& k : d.kinds) {
        json one{{"kind", k.kind}, {"name", {{"zh", k.name.zh}, {"en", k.name.en}}}, {"unit", k.unit}};
        one["min"] = k.min ? json(*k.min) : json(nullptr);
        one["max"] = k.max ? json(*k.max) : json(nullptr);
        kinds.push_back(std::move(one));
    }
    return {
        {"id", d.id},
        {"name", {{"zh", d.name.zh}, {"en", d.name.en}}},
        {"color", d.color},
        {"icon", d.icon},
        {"sensor_kinds", std::move(kinds)}};
}

}  // namespace cityguard::rules
