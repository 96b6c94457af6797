-- Records answered 202 and not decided yet, oldest first: intake samples their count and the age
-- of the oldest for /metrics every few seconds (the "received but undecided" alert), which
-- without this index would scan the whole ledger each time. It holds only undecided rows, so it
-- stays small; the decision's update leaves it (that update is non-HOT already: records_worklist).
CREATE INDEX records_undecided ON records (received_at) WHERE decision = 'received';
