-- The clusterer's lexical signal (services/trend/domain/lexical.py): each story's words and
-- each tenant's document frequencies of Snowball stems (the idf).
--
-- A story's words are the sum of its members' TF-IDF vectors, as parallel arrays (stems,
-- weights); stories stored before this migration have none and get them from their members'
-- texts when loaded. Document frequencies are written like the entity counters: absolute
-- values computed in memory (writing twice changes nothing), in the same transaction as the
-- rest of a processing step; a stem the tenant forgot (beyond its cap, the rarest first) is
-- deleted. `tenants.documents` is how many posts were counted.

ALTER TABLE trend.stories
    ADD COLUMN lexical_n       integer  NOT NULL DEFAULT 0,
    ADD COLUMN lexical_terms   text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN lexical_weights float8[] NOT NULL DEFAULT '{}';

ALTER TABLE trend.tenants ADD COLUMN documents bigint NOT NULL DEFAULT 0;

CREATE TABLE trend.term_frequencies (
    tenant_id   text    NOT NULL,
    term        text    NOT NULL,
    documents   integer NOT NULL CHECK (documents > 0),
    PRIMARY KEY (tenant_id, term)
);
