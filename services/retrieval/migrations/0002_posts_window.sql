-- Window reads by channel and time (the digest service reads whole windows of a tenant's
-- channels: WHERE tenant_id = $1 AND channel_id = ANY($2) AND date >= $3 AND date < $4).
CREATE INDEX IF NOT EXISTS posts_channel_date ON retrieval.posts (tenant_id, channel_id, date);
