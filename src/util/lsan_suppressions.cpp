// Read by LeakSanitizer in sanitizer builds (ignored otherwise). Linked into executables only.
//
// libpqxx 6.4 leaks the libpq result of a query that fails because the connection broke (seen
// when the database goes away mid-run). CityGuard never handles a PGresult itself, so a leaked
// PGresult can only be libpqxx's.
extern "C" const char* __lsan_default_suppressions() { return "leak:PQmakeEmptyPGresult\n"; }
