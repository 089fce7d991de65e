"""Pure logic of the retrieval service: text analysis, fusion, ranking. No I/O here."""
