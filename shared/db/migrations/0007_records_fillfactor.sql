-- A record's row is updated two or three times after intake writes it (the decision, its
-- outputs marked sent, sync's result). With free room on each page those updates stay on the
-- page and skip the indexes (HOT updates); on full pages every update also writes both index
-- entries again. Measured on a province: 44 % of updates were HOT with the default fillfactor.
ALTER TABLE records SET (fillfactor = 70);
