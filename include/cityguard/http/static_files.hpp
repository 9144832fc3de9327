#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The dashboard's files, served at / by the HTTP server.
namespace cityguard::http {

struct static_file {
    std::string body;
    std::string content_type;
    std::string etag;  ///< quoted, from the content
};

/// Every regular file under the web root, read once at start-up. Requests are answered from
/// this table only, so a path that is not one of these files (a "../", an absolute path, a
/// symlink added later) can never reach the file system.
///
/// Thread safety: immutable after construction.
class static_files {
  public:
    /// `root` empty or "-": no dashboard. `settings` is served as /settings.json (what the page
    /// needs from the server's config, e.g. the map tile URL). `extra` adds files from outside
    /// the root as (request path, file), such as the map's district boundaries; a file of "" or
    /// "-" is left out. Throws std::runtime_error when the root or a file cannot be read.
    static_files(
        const std::string& root,
        std::string settings,
        const std::vector<std::pair<std::string, std::string>>& extra = {}
    );

    /// The file for a request path: "/" is /index.html. nullptr when there is none.
    const static_file* find(std::string_view path) const;
    bool enabled() const noexcept { return !files_.empty(); }
    std::size_t size() const noexcept { return files_.size(); }

  private:
    std::map<std::string, static_file, std::less<>> files_;  // "/app.js" -> file
};

/// The Content-Type for a file name, by extension; application/octet-stream if unknown.
std::string_view content_type_for(std::string_view name) noexcept;

}  // namespace cityguard::http
