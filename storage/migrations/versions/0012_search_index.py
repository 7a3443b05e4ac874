"""search index: FTS5 tables on SQLite, a GIN-indexed tsvector('simple') table on PostgreSQL, built for existing items

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-05 12:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Pre-tokenized text (jieba tokens joined by spaces): unicode61 only splits on the spaces and punctuation.
_FTS_COLUMNS = (
    "title, body, units, reply, term UNINDEXED, sitting UNINDEXED, year UNINDEXED, state UNINDEXED, "
    "due_on UNINDEXED, has_full UNINDEXED, tokenize = 'unicode61 remove_diacritics 0'"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE search_public USING fts5({_FTS_COLUMNS})")
        op.execute(f"CREATE VIRTUAL TABLE search_full USING fts5({_FTS_COLUMNS})")
        # the public index's words and their document counts, for "closest words known to the index"
        op.execute("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_public, 'row')")
    else:
        op.execute(
            "CREATE TABLE search_docs ("
            "proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE, "
            "scope VARCHAR(6) NOT NULL, doc TSVECTOR NOT NULL, term INTEGER NOT NULL, sitting INTEGER NOT NULL, "
            "year INTEGER NOT NULL, state VARCHAR(16) NOT NULL, due_on DATE, has_full BOOLEAN NOT NULL, "
            "CONSTRAINT pk_search_docs PRIMARY KEY (proposal_id, scope))"
        )
        op.execute("CREATE INDEX ix_search_docs_doc ON search_docs USING gin (doc)")
    # existing items: build their documents now (jieba loads only when there is something to index)
    if bind.exec_driver_sql("SELECT 1 FROM proposals LIMIT 1").first() is not None:
        from storage.search import reindex_sync

        reindex_sync(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE search_vocab")
        op.execute("DROP TABLE search_full")
        op.execute("DROP TABLE search_public")
    else:
        op.execute("DROP TABLE search_docs")
