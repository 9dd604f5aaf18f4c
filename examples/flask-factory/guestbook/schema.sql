DROP TABLE IF EXISTS entry;

CREATE TABLE entry (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  message TEXT NOT NULL
);
