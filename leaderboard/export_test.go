package leaderboard

import "database/sql"

// DBForTest exposes the log's database and table to the upgrade test.
func (l *SQLLog) DBForTest() (*sql.DB, string) { return l.db, l.table }
