# Writes OUTPUT: a C++ source holding every SQL_DIR/NNNN_*.sql file as a string, in file-name order.
file(GLOB files "${SQL_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" text)
  string(APPEND body "    {\"${name}\", R\"cgsql(${text})cgsql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp"
"// Generated from sql/*.sql by cmake/embed_migrations.cmake. Do not edit.
#include \"cityguard/store/migrations.hpp\"

namespace cityguard::store {
const std::vector<migration>& embedded_migrations() {
    static const std::vector<migration> all{
${body}    };
    return all;
}
}  // namespace cityguard::store
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
