# Writes OUTPUT: a C++ source whose function FUNCTION (in namespace NAMESPACE) returns the bytes
# of INPUT, so the binary serves it from any working directory (docs/openapi.json). The bytes go
# in as a char array: a string literal that long passes what compilers must support (64 KiB).
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(([^,]*,){24})" "\\1\n        " bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by cmake/embed_text.cmake. Do not edit.
#include <string_view>

namespace ${NAMESPACE} {
namespace {
constexpr char bytes[] = {
        ${bytes}};
}  // namespace
std::string_view ${FUNCTION}() { return {bytes, sizeof bytes}; }
}  // namespace ${NAMESPACE}
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
