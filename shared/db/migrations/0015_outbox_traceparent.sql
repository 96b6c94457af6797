-- Tracing (shared/tracing.py): the W3C traceparent of the request that stored a record rides on
-- its outbox row, so the relay can put it on the record's Kafka message. NULL while tracing is
-- off; adding a nullable column rewrites nothing.
ALTER TABLE outbox ADD COLUMN traceparent text;
