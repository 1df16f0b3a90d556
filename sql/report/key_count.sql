-- How many owned keys there are, to size the anti-join's partitions.
SELECT count(*) FROM owned
