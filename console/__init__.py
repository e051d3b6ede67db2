"""The Data Console and the database tools: `pwreset users`, `audit`, `stats` and `db`.

It reads and maintains the server's data through the storage API
(`pwreset.server.storage`); the server and the relay never import it. Spreadsheet (XLSX)
export needs the optional `xlsx` extra.
"""
