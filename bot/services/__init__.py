"""Use cases: reply registration, ratings, imports. One transaction each; no rendering, no printing.

May import `bot.domain`, `bot.letters`, `bot.text`, `bot.delivery`, `bot.spreadsheets`, `storage` and `config`.
"""
