"""Import and export files (.csv, .xlsx): `columns` (the one column list and the typed fields), `read`, `validate`
into typed rows, `write`. No database.

May import `bot.domain`, `bot.files` and `config`; never telegram, sqlalchemy or `storage`.
"""
