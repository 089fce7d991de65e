"""retrieval service: Indexing of posts into Postgres, Qdrant and Neo4j, and hybrid retrieval."""
