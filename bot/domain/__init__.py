"""The pure domain: legal clocks, the lifecycle, item numbers, the status card type and the vocabularies.

No I/O. Imports nothing of ours but `bot.domain` and `config`; never telegram, sqlalchemy, apscheduler or `storage`.
"""
