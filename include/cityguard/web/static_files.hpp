#pragma once

#include <map>
#include <string>
#include <string_view>

/// The dashboard's files, served at / by the HTTP server.
namespace cityguard::web {

struct file {
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
    /// needs from the server's config, e.g. the map tile URL). Throws std::runtime_error when
    /// the root cannot be read.
    static_files(const std::string& root, std::string settings);

    /// The file for a request path: "/" is /index.html. nullptr when there is none.
    const file* find(std::string_view path) const;
    bool enabled() const noexcept { return !files_.empty(); }
    std::size_t size() const noexcept { return files_.size(); }

  private:
    std::map<std::string, file, std::less<>> files_;  // "/app.js" -> file
};

/// The Content-Type for a file name, by extension; application/octet-stream if unknown.
std::string_view content_type_for(std::string_view name) noexcept;

}  // namespace cityguard::web
