"""The sandbox: an in-process Telegram Bot API emulator held to the official spec, the harness, console and demo data.

May import any part of `bot`, `storage` and `config` (it builds the real application); never `handlers` directly.
"""
