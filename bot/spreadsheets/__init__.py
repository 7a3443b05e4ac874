"""Import and export files (.csv, .xlsx): read, validate into typed rows, write. No database.

May import `bot.domain` and `config`; never telegram, sqlalchemy or `storage`.
"""
