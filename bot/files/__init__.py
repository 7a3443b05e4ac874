"""Uploaded files as bytes, before any reader looks inside: which format the first bytes announce, and how a text
file decodes, and whether a ZIP package stays within its limits (a zip bomb does not). Shared by the letter readers
and the spreadsheet reader, so both refuse and accept the same files.

Pure: imports nothing of ours but `bot.files` and `config`; never telegram, sqlalchemy, apscheduler or `storage`.
"""

from typing import Final

#: The largest upload any reader opens, letters and sheets alike (Telegram lets a bot download up to 20 MB).
MAX_BYTES: Final = 10 * 1024 * 1024
