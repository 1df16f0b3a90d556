-- Jira Cloud: an attachment whose content the hasher could not read. A 404 (ENOENT) is an
-- attachment the site lists but has no bytes for: missing; any other failure: an error.
UPDATE results
SET flags = flags | CASE WHEN (SELECT h.error FROM file_hashes h WHERE h.relpath = results.relpath) LIKE 'ENOENT%'
                         THEN :missing ELSE :error END,
    detail = CASE WHEN (SELECT h.error FROM file_hashes h WHERE h.relpath = results.relpath) LIKE 'ENOENT%'
                  THEN 'its content answers 404: the site lists it but has no bytes for it'
                  ELSE 'its content could not be read: ' || (SELECT h.error FROM file_hashes h WHERE h.relpath = results.relpath)
             END
WHERE pass_id = :pass_id
  AND relpath IN (SELECT relpath FROM file_hashes WHERE error IS NOT NULL)
