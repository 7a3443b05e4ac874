"""Uploaded files as bytes, before any reader looks inside: which format the first bytes announce, and how a text
file decodes. Shared by the letter readers and the spreadsheet reader, so both refuse and accept the same files.

Pure: imports nothing of ours but `bot.files`; never telegram, sqlalchemy, apscheduler or `storage`.
"""
