"""Delivery: the reminder planner, the deadline sweep, queueing plans into the outbox, the dispatcher and the ticker.

May import `bot.domain`, `bot.render`, `bot.telegram`, `storage` and `config`; never `handlers`.
"""
