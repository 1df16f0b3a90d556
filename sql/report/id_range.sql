SELECT min(id), max(id), count(*) FROM owned
