"""Rendering shared by handlers and the dispatcher: status cards, lists, timelines, pushes, previews, and `i18n/`.

Pure: may import `bot.domain`, `bot.render` and `config`; never telegram, sqlalchemy or `storage`.
"""
