COPY fileattachment (id, issueid, mimetype, filename, created, filesize, author, zip, thumbnailable) FROM STDIN
