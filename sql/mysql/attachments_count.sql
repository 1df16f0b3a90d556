SELECT count(*) FROM fileattachment
