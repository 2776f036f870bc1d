-- 0001: the policy rows of package catalog and the policy version.
--
-- Lists inside a row (a grant's columns, attributes and transforms, a table's
-- columns) are JSON text, NULL when empty. Names are compared byte for byte
-- (BINARY collation), which is also the order Load returns them in.

-- The policy version: one row, incremented by every committed Apply.
CREATE TABLE meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    policy_version INTEGER NOT NULL CHECK (policy_version >= 0)
);
INSERT INTO meta (id, policy_version) VALUES (1, 0);

CREATE TABLE roles (
    name TEXT NOT NULL PRIMARY KEY CHECK (name <> '')
) WITHOUT ROWID;

-- kind is 'GROUP' or 'USER'.
CREATE TABLE memberships (
    role TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('GROUP', 'USER')),
    name TEXT NOT NULL CHECK (name <> ''),
    PRIMARY KEY (role, kind, name)
) WITHOUT ROWID;

-- AUTOINCREMENT: an ID is never handed out twice, even after its grant is
-- removed (SQLite keeps the high-water mark in sqlite_sequence).
CREATE TABLE grants (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    role           TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    privilege      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    database_name  TEXT NOT NULL DEFAULT '',
    table_name     TEXT NOT NULL DEFAULT '',
    uri            TEXT NOT NULL DEFAULT '',
    columns        TEXT,                         -- JSON ["c1", …]
    attributes     TEXT,                         -- JSON ["ns.tag", …]
    attributes_not INTEGER NOT NULL DEFAULT 0 CHECK (attributes_not IN (0, 1)),
    transforms     TEXT,                         -- JSON [{"attribute":…,"function":…,"args":[…]}, …]
    filter         TEXT NOT NULL DEFAULT ''      -- row filter SQL, '' admits every row
);
CREATE INDEX grants_role ON grants (role);

CREATE TABLE attributes (
    name TEXT NOT NULL PRIMARY KEY CHECK (name <> '')
) WITHOUT ROWID;

CREATE TABLE databases (
    name TEXT NOT NULL PRIMARY KEY CHECK (name <> '')
) WITHOUT ROWID;

CREATE TABLE tables (
    database_name TEXT NOT NULL REFERENCES databases (name) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (name <> ''),
    is_view       INTEGER NOT NULL DEFAULT 0 CHECK (is_view IN (0, 1)),
    location      TEXT NOT NULL DEFAULT '',
    columns       TEXT,                          -- JSON [{"name":…,"type":…}, …]
    PRIMARY KEY (database_name, name)
) WITHOUT ROWID;

CREATE TABLE column_attributes (
    database_name TEXT NOT NULL,
    table_name    TEXT NOT NULL,
    column_name   TEXT NOT NULL CHECK (column_name <> ''),
    attribute     TEXT NOT NULL REFERENCES attributes (name) ON DELETE CASCADE,
    PRIMARY KEY (database_name, table_name, column_name, attribute),
    FOREIGN KEY (database_name, table_name) REFERENCES tables (database_name, name) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX column_attributes_attribute ON column_attributes (attribute);
