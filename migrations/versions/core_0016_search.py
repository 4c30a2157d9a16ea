"""Search: the contacts' full-text index gets prefix indexes of 4 to 6 letters (a surname typed in
full no longer merges thousands of email words: "smith*" took 47 ms at 1M contacts) and a ``lead``
column, the plain sort name, that the list sorted by name subtracts from the hits to read the
contacts whose sort name starts with the typed words from the sort index instead
(core/services/search.py ``sorted_legs``). SQLite only: the index is rebuilt from the table
(about two minutes at 1M contacts); PostgreSQL is unchanged.

The DDL is a frozen copy of what core/services/search.py builds for create_all (a test compares
the two); if that changes, write a new revision instead of editing this one.

Revision ID: core_0016
Revises: core_0015
Create Date: 2026-11-24 04:00:00

"""
from alembic import op

revision = "core_0016"
down_revision = "core_0015"
branch_labels = None
depends_on = None

DROP = [
    "DROP TRIGGER IF EXISTS contacts_search_ai",
    "DROP TRIGGER IF EXISTS contacts_search_ad",
    "DROP TRIGGER IF EXISTS contacts_search_au",
    "DROP TABLE IF EXISTS contacts_fts",
    "DROP VIEW IF EXISTS contacts_search_source",
]

SQLITE = ["CREATE VIEW IF NOT EXISTS contacts_search_source AS SELECT c.id AS id, c.first_name || ' ' || c.last_name AS name, "
 "coalesce(c.email, '') AS email, substr(ltrim(c.phone, '+'), 1, CASE WHEN length(ltrim(c.phone, '+')) - 1 >= 2 THEN "
 "15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 2, CASE WHEN length(ltrim(c.phone, '+')) - 2 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 3, CASE WHEN length(ltrim(c.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(c.phone, '+'), 4, CASE WHEN length(ltrim(c.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(c.phone, '+'), 5, CASE WHEN length(ltrim(c.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' "
 "|| substr(ltrim(c.phone, '+'), 6, CASE WHEN length(ltrim(c.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 7, CASE WHEN length(ltrim(c.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 8, CASE WHEN length(ltrim(c.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 9, CASE WHEN length(ltrim(c.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 10, CASE WHEN length(ltrim(c.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 11, CASE WHEN length(ltrim(c.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 12, CASE WHEN length(ltrim(c.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 13, CASE WHEN length(ltrim(c.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END) AS phone, CASE "
 "WHEN c.sort_name GLOB '[a-z0-9]*' AND c.sort_name NOT GLOB '*[^a-z0-9 ]*' AND c.sort_name NOT GLOB '*  *' THEN 'ǀ' "
 "|| replace(c.sort_name, ' ', 'ǀ') ELSE '' END AS lead FROM contacts c",
 'CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, email, phone, lead, '
 "content='contacts_search_source', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 "
 "6')",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid, '
 "name, email, phone, lead) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, coalesce(NEW.email, ''), "
 "substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 4, CASE WHEN length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 5, CASE WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 6, CASE WHEN length(ltrim(NEW.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 7, CASE WHEN length(ltrim(NEW.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 8, CASE WHEN length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 9, CASE WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END), CASE WHEN "
 "NEW.sort_name GLOB '[a-z0-9]*' AND NEW.sort_name NOT GLOB '*[^a-z0-9 ]*' AND NEW.sort_name NOT GLOB '*  *' THEN "
 "'ǀ' || replace(NEW.sort_name, ' ', 'ǀ') ELSE '' END); END",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, phone, lead) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, '+')) - "
 "1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 2, CASE WHEN length(ltrim(OLD.phone, '+')) - 2 "
 ">= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 3, CASE WHEN length(ltrim(OLD.phone, '+')) - 3 >= "
 "2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 4, CASE WHEN length(ltrim(OLD.phone, '+')) - 4 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 5, CASE WHEN length(ltrim(OLD.phone, '+')) - 5 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, '+')) - 6 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, '+')) - 7 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, '+')) - 8 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, '+')) - 9 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, '+')) - 10 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, '+')) - 11 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, '+')) - 12 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 13, CASE WHEN length(ltrim(OLD.phone, '+')) - 13 >= 2 "
 "THEN 15 ELSE 0 END), CASE WHEN OLD.sort_name GLOB '[a-z0-9]*' AND OLD.sort_name NOT GLOB '*[^a-z0-9 ]*' AND "
 "OLD.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(OLD.sort_name, ' ', 'ǀ') ELSE '' END); END",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_au AFTER UPDATE OF id, first_name, last_name, email, phone, sort_name '
 'ON contacts WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS NOT '
 'NEW.email OR OLD.phone IS NOT NEW.phone OR OLD.sort_name IS NOT NEW.sort_name OR OLD.id IS NOT NEW.id BEGIN INSERT '
 "INTO contacts_fts(contacts_fts, rowid, name, email, phone, lead) VALUES ('delete', OLD.id, OLD.first_name || ' ' "
 "|| OLD.last_name, coalesce(OLD.email, ''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 2, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 3, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 4, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 5, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 13, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 13 >= 2 THEN 15 ELSE 0 END), CASE WHEN OLD.sort_name GLOB '[a-z0-9]*' AND OLD.sort_name NOT GLOB "
 "'*[^a-z0-9 ]*' AND OLD.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(OLD.sort_name, ' ', 'ǀ') ELSE '' END); INSERT "
 "INTO contacts_fts(rowid, name, email, phone, lead) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, "
 "coalesce(NEW.email, ''), substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, '+')) - 3 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 4, CASE WHEN length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 5, CASE WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 6, CASE WHEN length(ltrim(NEW.phone, '+')) - 6 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 7, CASE WHEN length(ltrim(NEW.phone, '+')) - 7 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 8, CASE WHEN length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 9, CASE WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) - 13 >= 2 THEN 15 "
 "ELSE 0 END), CASE WHEN NEW.sort_name GLOB '[a-z0-9]*' AND NEW.sort_name NOT GLOB '*[^a-z0-9 ]*' AND NEW.sort_name "
 "NOT GLOB '*  *' THEN 'ǀ' || replace(NEW.sort_name, ' ', 'ǀ') ELSE '' END); END"]

# What core_0002 built (the downgrade puts it back).
SQLITE_BEFORE = ["CREATE VIEW IF NOT EXISTS contacts_search_source AS SELECT c.id AS id, c.first_name || ' ' || c.last_name AS name, "
 "coalesce(c.email, '') AS email, substr(ltrim(c.phone, '+'), 1, CASE WHEN length(ltrim(c.phone, '+')) - 1 >= 2 THEN "
 "15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 2, CASE WHEN length(ltrim(c.phone, '+')) - 2 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 3, CASE WHEN length(ltrim(c.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(c.phone, '+'), 4, CASE WHEN length(ltrim(c.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(c.phone, '+'), 5, CASE WHEN length(ltrim(c.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' "
 "|| substr(ltrim(c.phone, '+'), 6, CASE WHEN length(ltrim(c.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 7, CASE WHEN length(ltrim(c.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 8, CASE WHEN length(ltrim(c.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 9, CASE WHEN length(ltrim(c.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 10, CASE WHEN length(ltrim(c.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 11, CASE WHEN length(ltrim(c.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 12, CASE WHEN length(ltrim(c.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 13, CASE WHEN length(ltrim(c.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END) AS phone FROM "
 'contacts c',
 "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, email, phone, content='contacts_search_source', "
 "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid, '
 "name, email, phone) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, coalesce(NEW.email, ''), "
 "substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 4, CASE WHEN length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 5, CASE WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 6, CASE WHEN length(ltrim(NEW.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 7, CASE WHEN length(ltrim(NEW.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 8, CASE WHEN length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 9, CASE WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END)); END",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, phone) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, '+')) - "
 "1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 2, CASE WHEN length(ltrim(OLD.phone, '+')) - 2 "
 ">= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 3, CASE WHEN length(ltrim(OLD.phone, '+')) - 3 >= "
 "2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 4, CASE WHEN length(ltrim(OLD.phone, '+')) - 4 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 5, CASE WHEN length(ltrim(OLD.phone, '+')) - 5 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, '+')) - 6 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, '+')) - 7 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, '+')) - 8 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, '+')) - 9 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, '+')) - 10 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, '+')) - 11 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, '+')) - 12 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 13, CASE WHEN length(ltrim(OLD.phone, '+')) - 13 >= 2 "
 'THEN 15 ELSE 0 END)); END',
 'CREATE TRIGGER IF NOT EXISTS contacts_search_au AFTER UPDATE OF id, first_name, last_name, email, phone ON '
 'contacts WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS NOT '
 'NEW.email OR OLD.phone IS NOT NEW.phone OR OLD.id IS NOT NEW.id BEGIN INSERT INTO contacts_fts(contacts_fts, '
 "rowid, name, email, phone) VALUES ('delete', OLD.id, OLD.first_name || ' ' || OLD.last_name, coalesce(OLD.email, "
 "''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, '+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' "
 "|| substr(ltrim(OLD.phone, '+'), 2, CASE WHEN length(ltrim(OLD.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 3, CASE WHEN length(ltrim(OLD.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 4, CASE WHEN length(ltrim(OLD.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 5, CASE WHEN length(ltrim(OLD.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 13, CASE WHEN length(ltrim(OLD.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END)); INSERT "
 "INTO contacts_fts(rowid, name, email, phone) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, "
 "coalesce(NEW.email, ''), substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, '+')) - 3 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 4, CASE WHEN length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 5, CASE WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 6, CASE WHEN length(ltrim(NEW.phone, '+')) - 6 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 7, CASE WHEN length(ltrim(NEW.phone, '+')) - 7 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 8, CASE WHEN length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 9, CASE WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) - 13 >= 2 THEN 15 "
 'ELSE 0 END)); END']


def _rebuild(statements):
    for sql in DROP + statements:
        op.execute(sql)
    op.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(SQLITE)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(SQLITE_BEFORE)
