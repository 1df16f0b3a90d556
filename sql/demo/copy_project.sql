COPY project (id, pname, pkey, originalkey, pcounter, projecttype, lead) FROM STDIN
