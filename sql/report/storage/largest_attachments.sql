SELECT * FROM largest_attachments
