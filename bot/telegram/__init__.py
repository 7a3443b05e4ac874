"""Everything that touches python-telegram-bot internals: `ProposalBot`, the JSON request class, cached keyboards.

May import `bot.domain`, `bot.render` and `config`; never `storage` or `handlers`.
"""
