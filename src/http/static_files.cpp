#include "cityguard/http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cityguard/util/crypto.hpp"

namespace cityguard::http {

namespace fs = std::filesystem;

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

static_file make_file(std::string body, std::string_view name) {
    static_file f;
    f.content_type = std::string(content_type_for(name));
    // Appended piece by piece: GCC 12 at -O2 misjudges `"\"" + std::string` and warns of a
    // memcpy beyond the object size (-Wstringop-overflow, a known false positive).
    const std::string hex = util::to_hex(util::sha256(body));
    f.etag.reserve(22);
    f.etag.push_back('"');
    f.etag.append(hex, 0, 20);  // 80 bits of the SHA-256: enough to tell versions apart
    f.etag.push_back('"');
    f.body = std::move(body);
    return f;
}
std::string read_whole(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream body;
    body << in.rdbuf();
    return body.str();
}
}  // namespace

std::string_view content_type_for(std::string_view name) noexcept {
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".geojson", "application/geo+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".wav", "audio/wav"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (const auto& [ext, type] : kTypes)
        if (ends_with(name, ext)) return type;
    return "application/octet-stream";
}

static_files::static_files(
    const std::string& root, std::string settings, const std::vector<std::pair<std::string, std::string>>& extra
) {
    if (root.empty() || root == "-") return;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw std::runtime_error("web.root " + root + " is not a directory");
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        const auto rel = fs::relative(it->path(), root).generic_string();
        if (rel.empty() || rel.front() == '.' || rel.find("/.") != std::string::npos) continue;  // hidden
        files_.emplace("/" + rel, make_file(read_whole(it->path()), rel));
    }
    if (ec) throw std::runtime_error("cannot list web.root " + root + ": " + ec.message());
    if (files_.empty()) return;
    files_.insert_or_assign("/settings.json", make_file(std::move(settings), "settings.json"));
    for (const auto& [path, source] : extra)
        if (!source.empty() && source != "-") files_.insert_or_assign(path, make_file(read_whole(source), path));
}

const static_file* static_files::find(std::string_view path) const {
    if (path == "/") path = "/index.html";
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace cityguard::http
