// Registry bodies: PUT /api/v1/sites/{id}, /sensors/{id}, /units/{id}, /contacts/{id}, emergency
// resources and the bulk document, parsed as the API parses them (depth and NUL checks first) and validated.
#include <cstdint>
#include <string_view>

#include "cityguard/registry/registry_model.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    nlohmann::json doc;
    try {
        doc = cityguard::util::parse_untrusted_json(body, 32);
    } catch (const cityguard::api_error&) {
        return 0;
    }
    using cityguard::registry::parse_contact;
    using cityguard::registry::parse_resource;
    using cityguard::registry::parse_sensor;
    using cityguard::registry::parse_site;
    using cityguard::registry::parse_unit;
    const auto known_channel = [](std::string_view name) { return name == "log" || name == "duty-webhook"; };
    static const auto domains = cityguard::rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules");
    for (const auto path_id : {std::optional<std::string_view>{}, std::optional<std::string_view>{"GP-1"}}) {
        if (auto site = parse_site(doc, path_id, domains); site.index() == 0)
            cityguard::registry::to_json(std::get<0>(site));
        if (auto sensor = parse_sensor(doc, path_id); sensor.index() == 0)
            cityguard::registry::to_json(std::get<0>(sensor));
        if (auto unit = parse_unit(doc, path_id); unit.index() == 0) cityguard::registry::to_json(std::get<0>(unit));
        if (auto contact = parse_contact(doc, path_id, known_channel, domains); contact.index() == 0)
            cityguard::registry::to_json(std::get<0>(contact));
        if (auto resource = parse_resource(doc, path_id); resource.index() == 0)
            cityguard::registry::to_json(std::get<0>(resource));
    }
    if (doc.is_object())
        for (const char* list : {"sites", "sensors", "units", "contacts", "resources"})
            if (auto it = doc.find(list); it != doc.end() && it->is_array())
                for (const auto& item : *it) {
                    (void)parse_site(item, std::nullopt, domains);
                    (void)parse_sensor(item, std::nullopt);
                    (void)parse_unit(item, std::nullopt);
                    (void)parse_contact(item, std::nullopt, known_channel, domains);
                    (void)parse_resource(item, std::nullopt);
                }
    return 0;
}
