"""Reply letters: document readers (.txt, .docx, .pdf), text normalisation and the field parser.

Pure like `bot.domain`: may import `bot.domain`, `bot.text` and `config`;
never telegram, sqlalchemy, apscheduler or `storage`.
"""
