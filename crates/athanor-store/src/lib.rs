//! Persistence: SQLite (WAL, migrations) records and content-addressed blob files under one data directory.
