// tokens/sqlite_util.h — small RAII helpers over the SQLite C API shared by the token stores.
// Errors name the operation and carry SQLite's message (never bound values).
// Thread safety: a Db is used by one thread at a time (callers serialise); statements likewise.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "openpcc/util/result.h"

namespace openpcc::tokens::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error SqliteError(sqlite3* db, std::string_view what);
// Opens (creating) `path` with the named VFS (empty: the default), in full-mutex-free mode.
Result<DbPtr> Open(const std::string& path, const std::string& vfs);
Status Exec(sqlite3* db, const char* sql);
Result<StmtPtr> Prepare(sqlite3* db, const char* sql);
// The first column of the first row of `sql` as text (for PRAGMA queries).
Result<std::string> QueryText(sqlite3* db, const char* sql);

}  // namespace openpcc::tokens::sqlite
