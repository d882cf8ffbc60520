#include "openpcc/tokens/sqlite_util.h"

namespace openpcc::tokens::sqlite {

Error SqliteError(sqlite3* db, std::string_view what) {
  std::string message = "sqlite: ";
  message += what;
  if (db != nullptr) {
    message += " (";
    message += sqlite3_errmsg(db);
    message += ")";
  }
  return Error(ErrorCode::kInternal, std::move(message));
}

Result<DbPtr> Open(const std::string& path, const std::string& vfs) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 vfs.empty() ? nullptr : vfs.c_str());
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, "opening the database");
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return SqliteError(db, sql);
  }
  return OkStatus();
}

Result<StmtPtr> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return StmtPtr(raw);
}

Result<std::string> QueryText(sqlite3* db, const char* sql) {
  OPENPCC_ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(db, sql));
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return SqliteError(db, sql);
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
}

}  // namespace openpcc::tokens::sqlite
